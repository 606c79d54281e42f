import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEALTHY, backoffDelay, isBackingOff, onFailure, onSuccess, parseRetryAfter } from '../../src/registry/backoff.js';

const policy = { baseMs: 60_000, maxMs: 15 * 60_000 };

test('backoff doubles from one poll interval up to the cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, policy)), [0, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  assert.equal(backoffDelay(3, { baseMs: 2_000, maxMs: 1_000 }), 2_000, 'the cap never undercuts one interval');
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

test('Retry-After accepts seconds and HTTP dates', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('Retry-After is obeyed for an hour at most, however far it asks', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('999999', now), 3_600_000);
  assert.equal(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', now), 3_600_000);
  assert.equal(onFailure(HEALTHY, 'REGISTRY_RATE_LIMITED', 0, policy, 999_999_000).next.until, 3_600_000);
});
