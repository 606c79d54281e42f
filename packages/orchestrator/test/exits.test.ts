import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntendedStops, recordingStops } from '../src/docker/intended-stops.js';
import type { ContainerEngine } from '../src/docker/engine.js';
import { dockerRestarts, exitReport } from '../src/exits.js';
import { service } from '@dispenser/shared/testing/config';

const proxy = { host: 'web.test', path: '/', servicePort: 8080, healthIntervalMs: 1, healthTimeoutMs: 1, deployTimeoutMs: 1, drainTimeoutMs: 1 };

test('exit report: a proxied service that exits is an error with the code, the last lines and what happens next', () => {
  const r = exitReport(service('web', { proxy }), 'web', 3, ['booting', 'fatal: no database']);
  assert.equal(r?.level, 'error');
  assert.equal(r?.code, 'CONTAINER_EXITED');
  assert.equal(r?.restartedBy, 'nobody');
  assert.match(r!.message, /exited with code 3/);
  assert.match(r!.message, /stays down until the next reload or restart of Dispenser; the proxy answers 503/);
  assert.match(r!.message, /fatal: no database/);
  assert.match(r!.hint, /dispenser -s reload/);
  // a server that exits 0 is down all the same
  assert.equal(exitReport(service('web', { proxy }), 'web', 0, [])?.level, 'error');
});

test('exit report: Docker restart policies are named, not fought; jobs by design are not errors', () => {
  assert.equal(exitReport(service('web', { proxy, restart: 'always' }), 'web', 1, [])?.restartedBy, 'docker');
  assert.match(exitReport(service('web', { proxy, restart: 'on-failure' }), 'web', 1, [])!.message, /Docker restarts it \(restart policy "on-failure"\)/);
  assert.equal(exitReport(service('web', { proxy, restart: 'on-failure' }), 'web', 0, [])?.restartedBy, 'nobody');
  assert.equal(exitReport(service('migrate'), 'migrate', 0, [])?.level, 'info', 'a non-proxied service that exits 0 did its job');
  assert.equal(exitReport(service('migrate'), 'migrate', 2, [])?.level, 'error');
  assert.equal(exitReport(service('nightly', { dispenser: { watch: false, initialize: 'on-trigger', cron: '0 3 * * *', pull: 'on-startup', strategy: 'recreate' } }), 'nightly', 1, []), undefined, 'cron logs its own exits');
  assert.deepEqual(
    (['no', 'always', 'unless-stopped', 'on-failure'] as const).map((p) => [dockerRestarts(p, 0), dockerRestarts(p, 1)]),
    [[false, false], [true, true], [true, true], [false, true]],
  );
});

test('stops Dispenser asks for are remembered (their die event is no crash); others are not', async () => {
  let now = 0;
  const stops = new IntendedStops(() => now);
  const calls: string[] = [];
  const engine = recordingStops({ stopContainer: async (id: string) => void calls.push(`stop ${id}`), removeContainer: async (id: string) => void calls.push(`rm ${id}`), apiVersion: async () => '1.45' } as unknown as ContainerEngine, stops);
  await engine.stopContainer('abc123', 1);
  await engine.removeContainer('def456');
  assert.equal(await engine.apiVersion(), '1.45');
  assert.deepEqual(calls, ['stop abc123', 'rm def456']);
  assert.equal(stops.intended('abc123ffff'), true, 'a full ID matches the prefix Dispenser used');
  assert.equal(stops.intended('def456'), true);
  assert.equal(stops.intended('999'), false);
  now += 11 * 60_000;
  assert.equal(stops.intended('abc123'), false, 'forgotten after a while');
});
