import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCall } from '../../src/supervisor/shared-call.js';

test('sharedCall: callers while a call runs share it; the next caller after it starts a new one', async () => {
  let calls = 0;
  let release: (v: number) => void = () => undefined;
  const ask = sharedCall(() => {
    calls++;
    return new Promise<number>((resolve) => (release = resolve));
  });
  const waiting = Array.from({ length: 1000 }, () => ask());
  assert.equal(calls, 1, 'a thousand pipelined requests cost one');
  release(7);
  assert.deepEqual(new Set(await Promise.all(waiting)), new Set([7]));
  const later = ask();
  assert.equal(calls, 2);
  release(8);
  assert.equal(await later, 8);
});
