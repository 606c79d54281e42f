import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLimiter } from '../src/log-limiter.js';

test('log limiter: a window lets its first lines through, counts the rest and reports them on the next line written', () => {
  let now = 0;
  const limiter = new LogLimiter(2, 1000, () => now);
  assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()].map((r) => r.write), [true, true, false, false]);
  now = 999;
  assert.equal(limiter.take().write, false, 'same window');
  now = 1000;
  assert.deepEqual(limiter.take(), { write: true, suppressedBefore: 3 });
  assert.deepEqual(limiter.take(), { write: true, suppressedBefore: 0 });
});
