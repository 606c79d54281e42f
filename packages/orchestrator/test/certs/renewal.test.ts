import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRenewal, nextRetryAt, nextWakeUp, DAY_MS, type RenewalState } from '../../src/certs/renewal.js';

const now = new Date('2026-06-01T00:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

test('decideRenewal: order when missing, expired or under 30 days; otherwise wait', () => {
  const cases: [string, RenewalState, string, string, Date?][] = [
    ['no certificate', { failures: 0 }, 'order', 'missing'],
    ['expired yesterday', { failures: 0, notAfter: at(-DAY_MS) }, 'order', 'expired'],
    ['29 days left', { failures: 0, notAfter: at(29 * DAY_MS) }, 'order', 'expiring'],
    ['exactly 30 days left', { failures: 0, notAfter: at(30 * DAY_MS) }, 'wait', 'valid', at(0)],
    ['89 days left', { failures: 0, notAfter: at(89 * DAY_MS) }, 'wait', 'valid', at(59 * DAY_MS)],
    ['expiring but backing off', { failures: 2, notAfter: at(5 * DAY_MS), retryAt: at(10 * MIN) }, 'wait', 'backoff', at(10 * MIN)],
    ['missing and backoff over', { failures: 3, retryAt: at(-1) }, 'order', 'missing'],
    ['valid, old backoff over', { failures: 1, notAfter: at(60 * DAY_MS), retryAt: at(-MIN) }, 'wait', 'valid', at(30 * DAY_MS)],
  ];
  for (const [name, state, action, reason, until] of cases) {
    const d = decideRenewal(state, now);
    assert.equal(d.action, action, name);
    assert.equal(d.reason, reason, name);
    if (until) assert.equal(d.action === 'wait' && d.until.getTime(), until.getTime(), name);
  }
});

test('nextRetryAt: growing backoff, capped, Retry-After and rate limits respected', () => {
  const cases: [string, number, { retryAfterMs?: number; rateLimited?: boolean }, number][] = [
    ['1st failure', 1, {}, MIN],
    ['2nd failure', 2, {}, 5 * MIN],
    ['3rd failure', 3, {}, 15 * MIN],
    ['4th failure', 4, {}, HOUR],
    ['7th failure', 7, {}, 12 * HOUR],
    ['50th failure is capped', 50, {}, 12 * HOUR],
    ['Retry-After longer than schedule wins', 1, { retryAfterMs: 2 * HOUR }, 2 * HOUR],
    ['Retry-After shorter than schedule is not a licence to hammer', 4, { retryAfterMs: 10_000 }, HOUR],
    ['rate limit without Retry-After waits an hour', 1, { rateLimited: true }, HOUR],
    ['rate limit with long Retry-After', 1, { rateLimited: true, retryAfterMs: 3 * HOUR }, 3 * HOUR],
  ];
  for (const [name, failures, opts, delay] of cases) {
    assert.equal(nextRetryAt(failures, now, opts).getTime() - now.getTime(), delay, name);
  }
});

test('nextWakeUp: hourly unless a host in backoff is due sooner', () => {
  assert.equal(nextWakeUp([], now).getTime(), at(HOUR).getTime());
  assert.equal(nextWakeUp([{ action: 'wait', reason: 'backoff', until: at(5 * MIN) }, { action: 'wait', reason: 'valid', until: at(40 * DAY_MS) }], now).getTime(), at(5 * MIN).getTime());
  assert.equal(nextWakeUp([{ action: 'wait', reason: 'backoff', until: at(-MIN) }], now).getTime(), now.getTime());
  assert.equal(nextWakeUp([], now, 10_000).getTime(), at(10_000).getTime());
});
