import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeWeekdays, parseCron } from '../../src/config/cron.js';

/** Local time, as the scheduler runs in the host's time zone. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);

function nextOf(expression: string, after: Date): Date | undefined {
  const r = parseCron(expression);
  assert.ok(r.ok, `${expression}: ${r.ok ? '' : r.expected}`);
  return r.schedule.next(after);
}

// Thursday 2026-01-01 10:07:23
const FROM = at(2026, 1, 1, 10, 7, 23);

test('each accepted form fires when it says', () => {
  const table: [string, Date | undefined][] = [
    // 5 fields: minute hour day month weekday
    ['0 3 * * *', at(2026, 1, 2, 3, 0, 0)],
    ['*/5 * * * *', at(2026, 1, 1, 10, 10, 0)],
    ['30 9 * * 1-5', at(2026, 1, 2, 9, 30, 0)],
    // 6 fields: seconds first
    ['*/10 * * * * *', at(2026, 1, 1, 10, 7, 30)],
    ['0 0 2 * * *', at(2026, 1, 2, 2, 0, 0)],
    ['0 30 9 * * 1-5', at(2026, 1, 2, 9, 30, 0)],
    ['0 30 9 ? * MON-FRI', at(2026, 1, 2, 9, 30, 0)],
    ['0 0 12 * * sat', at(2026, 1, 3, 12, 0, 0)],
    ['0 0 12 * * 7', at(2026, 1, 4, 12, 0, 0)],
    ['0 0 12 * * 0', at(2026, 1, 4, 12, 0, 0)],
    // 7 fields: year last
    ['0 0 12 * * * *', at(2026, 1, 1, 12, 0, 0)],
    ['0 0 0 1 1 * 2099', at(2099, 1, 1)],
    ['0 0 12 1 6 * 2028-2030', at(2028, 6, 1, 12)],
    ['0 0 12 1 6 * 2027,2029', at(2027, 6, 1, 12)],
    ['0 0 9 1 1 * 2026/3', at(2029, 1, 1, 9)],
    ['0 0 0 29 2 * 2027-2029', at(2028, 2, 29)],
    ['0 0 0 1 1 * 2020', undefined],
    ['0 0 0 29 2 * 2027', undefined],
    // macros
    ['@yearly', at(2027, 1, 1)],
    ['@annually', at(2027, 1, 1)],
    ['@monthly', at(2026, 2, 1)],
    ['@weekly', at(2026, 1, 4)],
    ['@daily', at(2026, 1, 2)],
    ['@midnight', at(2026, 1, 2)],
    ['@hourly', at(2026, 1, 1, 11)],
  ];
  for (const [expression, expected] of table) assert.deepEqual(nextOf(expression, FROM), expected, expression);
});

test('a firing is strictly after the given time, so a chain of firings never repeats one', () => {
  assert.deepEqual(nextOf('0 0 12 * * *', at(2026, 1, 1, 12)), at(2026, 1, 2, 12));
  assert.deepEqual(nextOf('0 0 12 1 1 * 2030,2031', at(2030, 1, 1, 12)), at(2031, 1, 1, 12));
});

test('what is not a cron expression says what was expected', () => {
  const table: [string, RegExp][] = [
    ['* * * *', /got 4 fields/],
    ['* * * * * * * *', /got 8 fields/],
    ['', /got 1 field$/],
    ['@fortnightly', /@yearly, @annually/],
    ['61 * * * *', /valid cron expression: .*61/],
    ['0 0 0 * * * 1969', /year field/],
    ['0 0 0 * * * 2100', /year field/],
    ['0 0 0 * * * 2031-2030', /year field/],
    ['0 0 0 * * * */0', /year field/],
    ['0 0 0 * * * next', /year field/],
  ];
  for (const [expression, why] of table) {
    const r = parseCron(expression);
    assert.ok(!r.ok, expression);
    assert.match(r.expected, why, expression);
  }
});

test('numeric weekdays are flagged only in the 6- and 7-field forms the original read from Sunday = 1', () => {
  const flagged = (e: string) => {
    const r = parseCron(e);
    assert.ok(r.ok, e);
    return r.schedule.numericWeekdays;
  };
  assert.equal(flagged('0 30 9 * * 1-5'), '1-5');
  assert.equal(flagged('0 30 9 * * 1-5 2030'), '1-5');
  assert.equal(flagged('0 0 0 * * 1/2'), '1/2');
  // every second day from the first: Sunday, Tuesday, Thursday, Saturday under both numberings
  assert.equal(flagged('0 0 0 * * */2'), undefined);
  assert.equal(flagged('30 9 * * 1-5'), undefined);
  assert.equal(flagged('0 30 9 * * MON-FRI'), undefined);
  assert.equal(flagged('0 0 0 * * SUN#2'), undefined);
  assert.equal(flagged('0 0 0 * * *'), undefined);
  assert.equal(flagged('0 0 0 ? * ?'), undefined);
});

test('weekday sets read as day names', () => {
  assert.equal(describeWeekdays([1, 2, 3, 4, 5]), 'Monday–Friday');
  assert.equal(describeWeekdays([0, 6]), 'Sunday, Saturday');
  assert.equal(describeWeekdays([0, 2, 3, 4]), 'Sunday, Tuesday–Thursday');
});
