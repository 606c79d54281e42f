import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeScheduler } from '../../src/cd/scheduler.js';

/** The next local time after now whose fields match, found by stepping one second at a time. */
function bruteNext(matches: (d: Date) => boolean, limitSeconds = 3 * 24 * 3600): Date {
  const d = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
  for (let i = 0; i < limitSeconds; i++, d.setSeconds(d.getSeconds() + 1)) if (matches(d)) return new Date(d);
  throw new Error('no match');
}

test('the scheduler plans the next run of every form the config accepts', (t) => {
  const cases: [string, Date | undefined][] = [
    ['30 3 * * *', bruteNext((d) => d.getHours() === 3 && d.getMinutes() === 30 && d.getSeconds() === 0)],
    ['*/10 * * * * *', bruteNext((d) => d.getSeconds() % 10 === 0)],
    ['0 15 * * * *', bruteNext((d) => d.getMinutes() === 15 && d.getSeconds() === 0)],
    ['0 0 12 * * * *', bruteNext((d) => d.getHours() === 12 && d.getMinutes() === 0 && d.getSeconds() === 0)],
    ['0 0 12 1 1 * 2099', new Date(2099, 0, 1, 12)],
    ['0 0 0 1 1 * 2020', undefined],
    ['@hourly', bruteNext((d) => d.getMinutes() === 0 && d.getSeconds() === 0)],
    ['@midnight', bruteNext((d) => d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0)],
    ['@annually', new Date(new Date().getFullYear() + 1, 0, 1)],
  ];
  for (const [expression, expected] of cases) {
    const job = nodeScheduler.schedule(expression, () => assert.fail(`${expression} fired during the test`));
    t.after(() => job.cancel());
    // a second boundary may pass between the two computations; then the job is one step ahead
    const next = job.nextRun();
    if (expression === '*/10 * * * * *' && next && expected && next.getTime() === expected.getTime() + 10_000) continue;
    assert.deepEqual(next, expected, expression);
  }
});

test('a scheduled expression fires, and keeps firing, at its times', async () => {
  const fired: number[] = [];
  const job = nodeScheduler.schedule('* * * * * * *', () => fired.push(Date.now()));
  try {
    await new Promise((resolve) => setTimeout(resolve, 2300));
  } finally {
    job.cancel();
  }
  assert.ok(fired.length >= 2, `fired ${fired.length} times in 2.3 s`);
  for (const at of fired) assert.ok(at % 1000 < 500, `fired on a second boundary (+${at % 1000} ms)`);
  const count = fired.length;
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal(fired.length, count, 'a cancelled job does not fire');
});

test('an expression the config would refuse is refused by the scheduler with CRON_INVALID', () => {
  for (const bad of ['* * * *', '0 0 0 * * * 1969', '@fortnightly', '2030-01-01']) {
    assert.throws(() => nodeScheduler.schedule(bad, () => {}), (err: { code?: string }) => err.code === 'CRON_INVALID', bad);
  }
});
