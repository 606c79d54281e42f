import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleStatus } from '@dispenser/shared/control/status';
import { duration, renderStatus, shortDigest } from '../../src/control/status-view.js';
import { parseSince } from '../../src/control/since.js';

const now = new Date('2026-12-05T12:00:00Z');

test('renderStatus: the daemon line, one row per service, then what is degraded', () => {
  const status = assembleStatus(
    { version: '1.2.3', pid: 42, startedAt: new Date('2026-12-05T09:58:00Z'), ready: true },
    {
      ok: true,
      facts: {
        configGeneration: 4,
        startedAt: now.toISOString(),
        busyWith: [],
        services: [
          {
            name: 'web',
            image: 'r/web:1',
            job: false,
            container: { id: 'a', state: 'running', health: 'unhealthy', startedAt: null, exitCode: null },
            inspectError: null,
            runningDigest: 'sha256:0123456789abcdef',
            availableDigest: 'sha256:fedcba9876543210',
            lastDeploy: { at: '2026-12-05T11:55:00Z', trigger: 'digest', result: 'ok', durationMs: 3000 },
            routes: [{ host: 'a.test', path: '/' }],
            cron: null,
            nextRun: null,
            certificates: [{ host: 'a.test', source: 'acme', notAfter: '2027-01-04T12:00:00Z' }],
          },
          { name: 'job', image: 'r/job:1', job: true, container: null, inspectError: null, runningDigest: null, availableDigest: null, lastDeploy: null, routes: [], cron: '0 * * * *', nextRun: '2026-12-05T13:00:00Z', certificates: [] },
        ],
      },
    },
    now,
  );
  assert.deepEqual(renderStatus(status, now), [
    'dispenser 1.2.3  pid 42  up 2h 2m  config generation 4  DEGRADED',
    '',
    'SERVICE  STATE    HEALTH     RUNNING       AVAILABLE     LAST DEPLOY          ROUTE   NEXT RUN  CERT EXPIRES',
    'web      running  unhealthy  0123456789ab  fedcba987654  5m 0s ago digest ok  a.test  -         2027-01-04 (30d)',
    'job      waiting  -          -             -             -                    -       in 1h 0m  -',
    '',
    'degraded:',
    '  web: health check failing',
  ]);
});

test('renderStatus: an orchestrator that cannot answer', () => {
  const status = assembleStatus({ version: '1', pid: 1, startedAt: now, ready: true }, { ok: false, reason: 'it is restarting' }, now);
  assert.deepEqual(renderStatus(status, now), [
    'dispenser 1  pid 1  up 0s  config generation unknown  DEGRADED',
    'services: unknown (the orchestrator cannot answer)',
    '',
    'degraded:',
    '  dispenser: the orchestrator cannot answer: it is restarting',
  ]);
});

test('durations, digests, --since', () => {
  assert.equal(duration(0), '0s');
  assert.equal(duration(59), '59s');
  assert.equal(duration(3600), '1h 0m');
  assert.equal(duration(90061), '1d 1h');
  assert.equal(shortDigest('sha256:0123456789abcdef'), '0123456789ab');
  assert.equal(parseSince('10m', now), now.getTime() / 1000 - 600);
  assert.equal(parseSince('2026-12-05T11:00:00Z', now), now.getTime() / 1000 - 3600);
  assert.equal(parseSince('yesterday', now), undefined);
});
