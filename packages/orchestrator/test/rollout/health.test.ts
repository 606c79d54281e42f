import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseHealthMethod, hasDockerHealthcheck, healthyHttpStatus, judge, needsProbe, type HealthMethod, type Observation } from '../../src/rollout/health.js';
import type { ContainerInfo } from '../../src/docker/engine.js';

const running: Observation = { exists: true, running: true, restarting: false, restartCount: 0, status: 'running', exitCode: 0, ip: '10.0.0.5' };
const http: HealthMethod = { kind: 'http', path: '/health' };
const tcp: HealthMethod = { kind: 'tcp' };
const dockerHc: HealthMethod = { kind: 'docker' };

test('health method: Docker health check, else health_path, else TCP', () => {
  assert.deepEqual(chooseHealthMethod(true, '/health'), { kind: 'docker' });
  assert.deepEqual(chooseHealthMethod(false, '/health'), { kind: 'http', path: '/health' });
  assert.deepEqual(chooseHealthMethod(false, undefined), { kind: 'tcp' });
});

test('a Docker health check is seen from the state or from the config (HEALTHCHECK NONE is none)', () => {
  const info = (test: string[] | undefined, health?: string): ContainerInfo =>
    ({ Config: { Healthcheck: test ? { Test: test } : undefined }, State: health ? { Health: { Status: health } } : {} }) as unknown as ContainerInfo;
  assert.equal(hasDockerHealthcheck(info(['CMD', 'true'])), true);
  assert.equal(hasDockerHealthcheck(info(undefined, 'starting')), true);
  assert.equal(hasDockerHealthcheck(info(['NONE'])), false);
  assert.equal(hasDockerHealthcheck(info(undefined)), false);
});

test('2xx and 3xx are healthy answers', () => {
  for (const [status, ok] of [[200, true], [204, true], [301, true], [399, true], [404, false], [500, false], [503, false], [199, false]] as const) {
    assert.equal(healthyHttpStatus(status), ok, String(status));
  }
});

test('judging one look at the candidate', () => {
  const cases: Array<[string, HealthMethod, Observation, string]> = [
    ['removed under us', http, { ...running, exists: false }, 'failed:ROLLOUT_CONTAINER_EXITED'],
    ['exited', http, { ...running, running: false, status: 'exited', exitCode: 3 }, 'failed:ROLLOUT_CONTAINER_EXITED'],
    ['crashed and restarted by its policy', http, { ...running, restartCount: 1 }, 'failed:ROLLOUT_CONTAINER_EXITED'],
    ['restarting', tcp, { ...running, running: true, restarting: true }, 'failed:ROLLOUT_CONTAINER_EXITED'],
    ['created, not started yet', tcp, { ...running, running: false, status: 'created' }, 'wait'],
    ['docker: starting', dockerHc, { ...running, health: 'starting' }, 'wait'],
    ['docker: healthy', dockerHc, { ...running, health: 'healthy' }, 'healthy'],
    ['docker: unhealthy', dockerHc, { ...running, health: 'unhealthy' }, 'failed:ROLLOUT_UNHEALTHY'],
    ['http: no address yet', http, { ...running, ip: undefined } as Observation, 'wait'],
    ['http: not probed', http, running, 'wait'],
    ['http: 503', http, { ...running, probe: { ok: false, detail: 'HTTP 503' } }, 'wait'],
    ['http: refused', http, { ...running, probe: { ok: false, detail: 'ECONNREFUSED' } }, 'wait'],
    ['http: 200', http, { ...running, probe: { ok: true, detail: 'HTTP 200' } }, 'healthy'],
    ['tcp: accepted', tcp, { ...running, probe: { ok: true, detail: 'ok' } }, 'healthy'],
  ];
  for (const [name, method, obs, want] of cases) {
    const v = judge(method, obs);
    assert.equal(v.kind === 'failed' ? `failed:${v.code}` : v.kind, want, name);
  }
});

test('probes run only against a running candidate with an address, never for the Docker method', () => {
  assert.equal(needsProbe(http, running), true);
  assert.equal(needsProbe(tcp, running), true);
  assert.equal(needsProbe(dockerHc, running), false);
  assert.equal(needsProbe(http, { ...running, running: false, status: 'exited' }), false);
  assert.equal(needsProbe(http, { ...running, ip: undefined } as Observation), false);
});
