import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from '../src/serial-queue.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('tasks run one at a time in the order they were queued, even when an earlier one is slower', async () => {
  const queue = new SerialQueue();
  const events: string[] = [];
  const task = (name: string, ms: number) => async (): Promise<string> => {
    events.push(`start ${name}`);
    await tick(ms);
    events.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all([queue.run(task('a', 30)), queue.run(task('b', 1)), queue.run(() => 'c')]);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b']);
});

test('a failing task rejects its own promise only; the tasks after it still run', async () => {
  const queue = new SerialQueue();
  const ran: string[] = [];
  const failing = queue.run(async () => {
    await tick(5);
    throw new Error('boom');
  });
  const throwing = queue.run(() => {
    throw new Error('sync boom');
  });
  const after = queue.run(() => {
    ran.push('after');
    return 42;
  });
  await assert.rejects(failing, /boom/);
  await assert.rejects(throwing, /sync boom/);
  assert.equal(await after, 42);
  assert.deepEqual(ran, ['after']);
  assert.equal(queue.size, 0);
});

test('idle() waits for what was queued so far, and size counts queued and running tasks', async () => {
  const queue = new SerialQueue();
  let done = false;
  void queue.run(async () => {
    await tick(10);
    done = true;
  });
  void queue.run(() => Promise.reject(new Error('ignored'))).catch(() => undefined);
  assert.equal(queue.size, 2);
  await queue.idle();
  assert.equal(done, true);
  assert.equal(queue.size, 0);
});
