import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from '../src/keyed-lock.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('one operation at a time per key; other keys do not wait; a failure does not block the key', async () => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const op = (name: string, ms: number, fail = false) => async (): Promise<string> => {
    events.push(`start ${name}`);
    await tick(ms);
    events.push(`end ${name}`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = lock.run('a', op('a1', 30, true));
  const a2 = lock.run('a', op('a2', 1));
  const b1 = lock.run('b', op('b1', 1));
  await assert.rejects(a1, /a1/);
  assert.deepEqual(await Promise.all([a2, b1]), ['a2', 'b1']);
  assert.deepEqual(events, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
});
