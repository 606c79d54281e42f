import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter } from '../src/retry-after.js';
import { MAX_RETRY_AFTER_MS } from '../src/registry/backoff.js';

const now = Date.parse('2026-01-01T00:00:00Z');

test('Retry-After accepts seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter(new Date(now + 90_000).toUTCString(), now), 90_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('Retry-After is uncapped unless a cap is given (a CA may ask for hours; a registry an hour at most)', () => {
  assert.equal(parseRetryAfter('999999', now), 999_999_000);
  assert.equal(parseRetryAfter('999999', now, MAX_RETRY_AFTER_MS), 3_600_000);
  assert.equal(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', now, MAX_RETRY_AFTER_MS), 3_600_000);
  assert.equal(parseRetryAfter('60', now, MAX_RETRY_AFTER_MS), 60_000);
});
