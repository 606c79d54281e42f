import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEALTHY, failureBackoff, isBackingOff, onFailure, onSuccess } from '../../src/registry/backoff.js';

const policy = { baseMs: 60_000, maxMs: 15 * 60_000 };

test('backoff doubles from one poll interval up to the cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 40].map((n) => failureBackoff(n, policy)), [0, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  assert.equal(failureBackoff(3, { baseMs: 2_000, maxMs: 1_000 }), 2_000, 'the cap never undercuts one interval');
});

test('a failing registry is logged when it starts failing or fails differently, and when it recovers', () => {
  let h = HEALTHY;
  const steps: [string, string | undefined][] = [];
  for (const [code, now] of [['REGISTRY_UNREACHABLE', 0], ['REGISTRY_UNREACHABLE', 60_000], ['REGISTRY_DNS', 200_000]] as const) {
    const tr = onFailure(h, code, now, policy);
    steps.push([code, tr.change]);
    h = tr.next;
  }
  assert.deepEqual(steps, [['REGISTRY_UNREACHABLE', 'failing'], ['REGISTRY_UNREACHABLE', undefined], ['REGISTRY_DNS', 'failing']]);
  assert.equal(h.failures, 3);
  assert.equal(h.until, 200_000 + 240_000);
  assert.equal(isBackingOff(h, 300_000), true);
  assert.equal(isBackingOff(h, 440_000), false);
  const ok = onSuccess(h);
  assert.equal(ok.change, 'recovered');
  assert.deepEqual(ok.next, HEALTHY);
  assert.equal(onSuccess(HEALTHY).change, undefined);
});

test('Retry-After wins when it asks for longer than the backoff', () => {
  assert.equal(onFailure(HEALTHY, 'REGISTRY_RATE_LIMITED', 1_000, policy, 300_000).next.until, 301_000);
  assert.equal(onFailure(HEALTHY, 'REGISTRY_RATE_LIMITED', 1_000, policy, 5_000).next.until, 61_000);
});

test('Retry-After is obeyed for an hour at most, however far it asks', () => {
  assert.equal(onFailure(HEALTHY, 'REGISTRY_RATE_LIMITED', 0, policy, 999_999_000).next.until, 3_600_000);
});
