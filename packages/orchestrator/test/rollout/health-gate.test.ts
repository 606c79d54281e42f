import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import type { ContainerInfo } from '../../src/docker/engine.js';
import { countEstablished, drain, FALLBACK_GRACE_MS } from '../../src/rollout/drain.js';
import { waitHealthy, type HealthGateDeps } from '../../src/rollout/health-gate.js';
import type { ProbeResult } from '../../src/rollout/health.js';

const log = createLogger('orchestrator', { test: 'rollout' });
log.level = 'silent';

function info(state: Partial<ContainerInfo['State']> & { health?: string }, restartCount = 0): ContainerInfo {
  const { health, ...rest } = state;
  return {
    RestartCount: restartCount,
    Config: {},
    State: { Running: true, Restarting: false, Status: 'running', ExitCode: 0, ...rest, ...(health ? { Health: { Status: health } } : {}) },
    NetworkSettings: { Networks: { net: { IPAddress: '10.0.0.9' } } },
  } as unknown as ContainerInfo;
}

/** a fake clock that advances only when the gate sleeps */
function fakes(looks: Array<ContainerInfo | undefined>, probes: ProbeResult[]): HealthGateDeps & { probed: number; slept: number[] } {
  let t = 0;
  let i = 0;
  let p = 0;
  const d = {
    probed: 0,
    slept: [] as number[],
    inspect: async () => looks[Math.min(i++, looks.length - 1)],
    probeHttp: async () => {
      d.probed++;
      return probes[Math.min(p++, probes.length - 1)]!;
    },
    probeTcp: async () => {
      d.probed++;
      return probes[Math.min(p++, probes.length - 1)]!;
    },
    sleep: async (ms: number) => {
      d.slept.push(ms);
      t += ms;
      return true;
    },
    now: () => t,
  };
  return d;
}

const opts = { method: { kind: 'http', path: '/up' } as const, network: 'net', port: 80, intervalMs: 1000, probeTimeoutMs: 500, deadlineMs: 5000, log };

test('health gate: probes every interval until the first 2xx/3xx', async () => {
  const f = fakes([info({})], [{ ok: false, detail: 'ECONNREFUSED' }, { ok: false, detail: 'HTTP 503' }, { ok: true, detail: 'HTTP 200' }]);
  assert.match(await waitHealthy('c', opts, f), /HTTP 200/);
  assert.equal(f.probed, 3);
  assert.deepEqual(f.slept, [1000, 1000]);
});

test('health gate: never healthy fails at the deploy deadline with what it saw last', async () => {
  const f = fakes([info({})], [{ ok: false, detail: 'HTTP 503' }]);
  await assert.rejects(waitHealthy('c', opts, f), (e: Error & { code?: string }) => e.code === 'ROLLOUT_UNHEALTHY' && /within 5 s/.test(e.message) && /HTTP 503/.test(e.message));
  assert.equal(f.slept.reduce((a, b) => a + b, 0), 5000);
});

test('health gate: a candidate that exits fails at once, without waiting for the deadline', async () => {
  const f = fakes([info({}), info({ Running: false, Status: 'exited', ExitCode: 2 })], [{ ok: false, detail: 'ECONNREFUSED' }]);
  await assert.rejects(waitHealthy('c', opts, f), (e: Error & { code?: string }) => e.code === 'ROLLOUT_CONTAINER_EXITED' && /code 2/.test(e.message));
  assert.deepEqual(f.slept, [1000]);
});

test('health gate: Docker health status decides when the container has a health check; unhealthy fails', async () => {
  const ok = fakes([info({ health: 'starting' }), info({ health: 'healthy' })], []);
  await waitHealthy('c', { ...opts, method: { kind: 'docker' } }, ok);
  assert.equal(ok.probed, 0);
  const bad = fakes([info({ health: 'starting' }), info({ health: 'unhealthy' })], []);
  await assert.rejects(waitHealthy('c', { ...opts, method: { kind: 'docker' } }, bad), { code: 'ROLLOUT_UNHEALTHY' });
});

const procTcp = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0', // listen :8080
  '   1: 0500000A:1F90 0100000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0', // established :8080
  '   2: 0500000A:1F90 0100000A:C351 06 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0', // time-wait
  '   3: 0500000A:D431 0100000A:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0', // outgoing to :8080
].join('\n');

test('drain: counts only established connections to the service port', () => {
  assert.equal(countEstablished(procTcp, 8080), 1);
  assert.equal(countEstablished(procTcp, 80), 0);
});

function drainFakes(counts: Array<number | undefined>) {
  let t = 0;
  let i = 0;
  return {
    connections: async () => counts[Math.min(i++, counts.length - 1)],
    sleep: async (ms: number) => {
      t += ms;
      return true;
    },
    now: () => t,
  };
}

test('drain: waits until in-flight connections are gone', async () => {
  const r = await drain(30_000, drainFakes([3, 2, 0]));
  assert.deepEqual(r, { method: 'connections', drained: true, waitedMs: 200, open: 0 });
});

test('drain: gives up at drain_timeout with connections still open', async () => {
  const r = await drain(1000, drainFakes([5]));
  assert.equal(r.drained, false);
  assert.equal(r.waitedMs, 1000);
  assert.equal(r.open, 5);
});

test('drain: a fixed grace, never longer than drain_timeout, when connections cannot be seen', async () => {
  assert.equal((await drain(30_000, drainFakes([undefined]))).waitedMs, FALLBACK_GRACE_MS);
  assert.equal((await drain(500, drainFakes([undefined]))).waitedMs, 500);
});
