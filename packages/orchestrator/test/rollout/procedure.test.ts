import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DispenserError } from '@dispenser/shared/errors';
import { runRollout, type RolloutStep, type RolloutSteps } from '../../src/rollout/procedure.js';

/** records every step; `fail` makes that step reject */
function recorder(fail: Partial<Record<RolloutStep, DispenserError>> = {}) {
  const calls: string[] = [];
  const step =
    (name: RolloutStep, result?: unknown) =>
    async (...args: unknown[]): Promise<never> => {
      calls.push(args.length ? `${name}(${args.filter((a) => typeof a === 'string').join(',')})` : name);
      if (fail[name]) throw fail[name];
      return result as never;
    };
  const steps: RolloutSteps = {
    startCandidate: step('startCandidate', 'new'),
    waitHealthy: step('waitHealthy', 'HTTP 200'),
    switchRoutes: step('switchRoutes'),
    revertRoutes: step('revertRoutes'),
    drainOld: step('drainOld'),
    removeOld: step('removeOld'),
    promote: step('promote'),
    settleRoutes: step('settleRoutes'),
    discard: step('discard'),
  };
  return { calls, steps };
}

test('a healthy rollout: routes switch (acknowledged) before the old container is drained and removed, then the name moves', async () => {
  const r = recorder();
  assert.equal(await runRollout('old', r.steps), 'new');
  assert.deepEqual(r.calls, ['startCandidate', 'waitHealthy(new)', 'switchRoutes(new)', 'drainOld(old)', 'removeOld(old)', 'promote(new)', 'settleRoutes']);
});

test('never healthy: the candidate is discarded with the cause, the old container is never touched', async () => {
  const cause = new DispenserError('ROLLOUT_UNHEALTHY', 'not healthy within 5 s');
  const r = recorder({ waitHealthy: cause });
  await assert.rejects(runRollout('old', r.steps), cause);
  assert.deepEqual(r.calls, ['startCandidate', 'waitHealthy(new)', 'discard(new)']);
  assert.ok(!r.calls.some((c) => c.includes('old') || c.startsWith('switchRoutes')));
});

test('the candidate cannot even start: nothing else happens', async () => {
  const r = recorder({ startCandidate: new DispenserError('CONTAINER_START_FAILED', 'no') });
  await assert.rejects(runRollout('old', r.steps), { code: 'CONTAINER_START_FAILED' });
  assert.deepEqual(r.calls, ['startCandidate']);
});

test('the proxy does not confirm the switch: routes go back before the candidate is removed; old kept', async () => {
  const r = recorder({ switchRoutes: new DispenserError('ROLLOUT_ROUTES_UNCONFIRMED', 'no ack') });
  await assert.rejects(runRollout('old', r.steps), { code: 'ROLLOUT_ROUTES_UNCONFIRMED' });
  assert.deepEqual(r.calls, ['startCandidate', 'waitHealthy(new)', 'switchRoutes(new)', 'revertRoutes', 'discard(new)']);
});

test('a non-Dispenser error from the gate still becomes a coded error', async () => {
  const r = recorder();
  r.steps.waitHealthy = async () => {
    throw new Error('socket hang up');
  };
  await assert.rejects(runRollout('old', r.steps), { code: 'ROLLOUT_UNHEALTHY' });
});

test('clean-up failing after the switch: no rollback (the new container serves), a ROLLOUT_INCOMPLETE error', async () => {
  const r = recorder({ promote: new DispenserError('DOCKER_UNAVAILABLE', 'daemon gone') });
  await assert.rejects(runRollout('old', r.steps), (e: DispenserError) => e.code === 'ROLLOUT_INCOMPLETE' && /daemon gone/.test(e.message));
  assert.deepEqual(r.calls, ['startCandidate', 'waitHealthy(new)', 'switchRoutes(new)', 'drainOld(old)', 'removeOld(old)', 'promote(new)']);
  assert.ok(!r.calls.some((c) => c.startsWith('discard') || c.startsWith('revertRoutes')));
});

test('progress is recorded at every step boundary, `switching` before the routes change', async () => {
  const r = recorder();
  const seen: string[] = [];
  r.steps.switchRoutes = async () => {
    seen.push('switchRoutes');
  };
  await runRollout('old', r.steps, async (stage, id) => {
    seen.push(`${stage}(${id})`);
  });
  assert.deepEqual(seen, ['candidate-started(new)', 'healthy(new)', 'switching(new)', 'switchRoutes', 'switched(new)', 'old-drained(new)', 'old-removed(new)', 'promoted(new)']);
});

test('a progress record that cannot be written before the switch fails the rollout: the candidate is discarded, the old one untouched', async () => {
  const r = recorder();
  const err = new DispenserError('ROLLOUT_JOURNAL_FAILED', 'disk full');
  await assert.rejects(runRollout('old', r.steps, async (stage) => {
    if (stage === 'switching') throw err;
  }), { code: 'ROLLOUT_JOURNAL_FAILED' });
  assert.deepEqual(r.calls, ['startCandidate', 'waitHealthy(new)', 'revertRoutes', 'discard(new)']);
});
