import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceFacts } from '../../src/control/facts.js';
import { assembleStatus, serviceProblems, statusChanged } from '../../src/control/status.js';

const now = new Date('2026-12-05T12:00:00Z');
const running = { id: 'abc', state: 'running', health: 'none' as const, startedAt: '2026-12-05T11:00:00Z', exitCode: null };
const facts = (over: Partial<ServiceFacts> = {}): ServiceFacts => ({
  name: 'web',
  image: 'r/web:1',
  job: false,
  container: running,
  inspectError: null,
  runningDigest: null,
  availableDigest: null,
  lastDeploy: null,
  routes: [],
  cron: null,
  nextRun: null,
  certificates: [],
  ...over,
});

test('which services are degraded, and why', () => {
  const cases: Array<[string, Partial<ServiceFacts>, string[]]> = [
    ['running, no health check', {}, []],
    ['running and healthy', { container: { ...running, health: 'healthy' } }, []],
    ['health check failing', { container: { ...running, health: 'unhealthy' } }, ['health check failing']],
    ['health check starting', { container: { ...running, health: 'starting' } }, ['health check not passed yet']],
    ['no container', { container: null }, ['no container']],
    ['Docker cannot be asked', { container: null, inspectError: 'cannot reach the Docker daemon' }, ['cannot inspect its container: cannot reach the Docker daemon']],
    ['exited', { container: { ...running, state: 'exited', exitCode: 3 } }, ['exited with code 3']],
    ['restarting', { container: { ...running, state: 'restarting', exitCode: 1 } }, ['container restarting']],
    ['job waiting for its first trigger', { job: true, container: null }, []],
    ['job done', { job: true, container: { ...running, state: 'exited', exitCode: 0 } }, []],
    ['job failed', { job: true, container: { ...running, state: 'exited', exitCode: 2 } }, ['last run exited with code 2']],
    ['last deploy failed', { lastDeploy: { at: now.toISOString(), trigger: 'digest', result: 'failed', code: 'ROLLOUT_HEALTH_TIMEOUT', durationMs: 5 } }, ['last deploy failed [ROLLOUT_HEALTH_TIMEOUT]']],
    ['certificate valid', { certificates: [{ host: 'a.test', source: 'acme', notAfter: '2027-01-01T00:00:00Z' }] }, []],
    ['certificate expired', { certificates: [{ host: 'a.test', source: 'acme', notAfter: '2026-12-01T00:00:00Z' }] }, ['certificate for a.test expired']],
    ['no certificate', { certificates: [{ host: 'a.test', source: 'acme', notAfter: null, error: 'CERT_ORDER_FAILED' }] }, ['no certificate for a.test [CERT_ORDER_FAILED]']],
    ['renewal failing', { certificates: [{ host: 'a.test', source: 'acme', notAfter: '2027-01-01T00:00:00Z', error: 'CERT_ORDER_FAILED' }] }, ['certificate for a.test cannot be renewed [CERT_ORDER_FAILED]']],
  ];
  for (const [name, over, expected] of cases) assert.deepEqual(serviceProblems(facts(over), now), expected, name);
});

test('the daemon: degraded when any service is, when still starting, or when the orchestrator cannot answer', () => {
  const daemon = { version: '1.2.3', pid: 42, startedAt: new Date('2026-12-05T11:59:00Z'), ready: true };
  const orchestrator = (services: ServiceFacts[]) => ({ ok: true as const, facts: { configGeneration: 3, startedAt: now.toISOString(), busyWith: [], services } });

  const ok = assembleStatus(daemon, orchestrator([facts()]), now);
  assert.equal(ok.degraded, false);
  assert.equal(ok.daemon.uptimeSeconds, 60);
  assert.equal(ok.daemon.configGeneration, 3);
  assert.equal(ok.services?.[0]?.state, 'running');

  assert.equal(assembleStatus(daemon, orchestrator([facts(), facts({ name: 'db', container: null })]), now).degraded, true);
  assert.equal(assembleStatus(daemon, orchestrator([facts({ job: true, container: null })]), now).services?.[0]?.state, 'waiting');
  assert.equal(assembleStatus(daemon, orchestrator([facts({ container: null, inspectError: 'gone' })]), now).services?.[0]?.state, 'unknown');
  assert.deepEqual(assembleStatus({ ...daemon, ready: false }, orchestrator([]), now).daemon.problems, ['still starting']);

  const gone = assembleStatus(daemon, { ok: false, reason: 'it is restarting' }, now);
  assert.equal(gone.degraded, true);
  assert.equal(gone.services, null, 'unknown, not empty');
  assert.equal(gone.daemon.orchestrator, 'unavailable');
  assert.equal(gone.daemon.configGeneration, null);
  assert.deepEqual(gone.daemon.problems, ['the orchestrator cannot answer: it is restarting']);
});

test('statusChanged ignores the uptime ticking on', () => {
  const daemon = { version: '1', pid: 1, startedAt: new Date(now.getTime() - 1000), ready: true };
  const answer = { ok: true as const, facts: { configGeneration: 1, startedAt: now.toISOString(), busyWith: [], services: [facts()] } };
  const a = assembleStatus(daemon, answer, now);
  const later = assembleStatus(daemon, answer, new Date(now.getTime() + 5000));
  assert.equal(statusChanged(a, later), false);
  const exited = assembleStatus(daemon, { ...answer, facts: { ...answer.facts, services: [facts({ container: null })] } }, now);
  assert.equal(statusChanged(a, exited), true);
});
