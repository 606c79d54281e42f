import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceConfig } from '@dispenser/shared/config/types';
import { containerFacts, serviceFacts } from '../../src/control/service-facts.js';
import type { ContainerInfo } from '../../src/docker/engine.js';

const info = (state: Partial<ContainerInfo['State']>): ContainerInfo =>
  ({ Id: '0123456789abcdef0123', State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2026-12-05T10:00:00.5Z', ...state } }) as unknown as ContainerInfo;

test('containerFacts: short id, health, a container that never started, exit code only when stopped', () => {
  assert.deepEqual(containerFacts(info({ Health: { Status: 'healthy' } as never })), { id: '0123456789ab', state: 'running', health: 'healthy', startedAt: '2026-12-05T10:00:00.5Z', exitCode: null });
  assert.equal(containerFacts(info({})).health, 'none');
  const created = containerFacts(info({ Status: 'created', Running: false, StartedAt: '0001-01-01T00:00:00Z' }));
  assert.equal(created.startedAt, null);
  assert.equal(created.exitCode, 0);
});

test('serviceFacts: job or not, the route, only its own certificates', () => {
  const svc = {
    name: 'web',
    image: 'r/web:1',
    dispenser: { watch: true, initialize: 'immediately', pull: 'on-startup', strategy: 'rollout' },
    proxy: { host: 'a.test', path: '/' },
  } as unknown as ServiceConfig;
  const f = serviceFacts({
    service: svc,
    container: undefined,
    runningDigest: undefined,
    availableDigest: 'sha256:b',
    lastDeploy: undefined,
    nextRun: undefined,
    certificates: [
      { host: 'a.test', source: 'acme', notAfter: new Date('2027-01-01T00:00:00Z') },
      { host: 'b.test', source: 'acme' },
    ],
  });
  assert.equal(f.job, false);
  assert.equal(f.container, null);
  assert.deepEqual(f.routes, [{ host: 'a.test', path: '/' }]);
  assert.deepEqual(f.certificates, [{ host: 'a.test', source: 'acme', notAfter: '2027-01-01T00:00:00.000Z' }]);
  const cron = serviceFacts({ service: { ...svc, proxy: undefined, dispenser: { ...svc.dispenser, cron: '0 * * * *' } } as ServiceConfig, container: undefined, runningDigest: undefined, availableDigest: undefined, lastDeploy: undefined, nextRun: new Date('2026-12-05T13:00:00Z'), certificates: [] });
  assert.equal(cron.job, true);
  assert.equal(cron.nextRun, '2026-12-05T13:00:00.000Z');
  assert.deepEqual(cron.certificates, []);
});
