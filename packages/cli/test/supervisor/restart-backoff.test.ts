import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../src/supervisor/restart-backoff.js';

test('a crash loop doubles the delay up to the cap', () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableAfterMs: 5000 });
  assert.deepEqual([0, 10, 10, 10, 10, 10].map((up) => b.next(up)), [100, 200, 400, 800, 1000, 1000]);
});

test('a crash after a stable run restarts quickly again', () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableAfterMs: 5000 });
  b.next(0);
  b.next(0);
  assert.equal(b.next(0), 400);
  assert.equal(b.next(60_000), 100);
  assert.equal(b.next(0), 200);
});
