import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFileSchema } from '../../src/config/schema.js';

const base = { service: { name: 'a', image: 'nginx' }, dispenser: { watch: false } };

test('cron accepts 5 fields, 6 with seconds, 7 with a year, or a macro; anything else says how many fields it saw', () => {
  const table: [string, boolean][] = [
    ['*/5 * * * *', true], ['0 */5 * * * *', true], ['30 3 * * 1-5', true], ['0 0 1 jan *', true], ['0 0 12 * * * 2030', true], ['@daily', true],
    ['* * * *', false], ['* * * * * * * *', false], ['61 * * * *', false], ['0 0 12 * * * 1969', false], ['@fortnightly', false], ['bogus', false], ['', false],
  ];
  for (const [cron, ok] of table) {
    const r = serviceFileSchema.safeParse({ ...base, dispenser: { watch: false, cron } });
    assert.equal(r.success, ok, cron);
    if (!r.success && cron.split(' ').length === 4) assert.match(r.error.issues[0]!.message, /got 4 fields/);
  }
});

test('restart "never" is "no"; command arrays pass through; env numbers and booleans become strings', () => {
  const r = serviceFileSchema.parse({ ...base, service: { ...base.service, restart: 'never', command: ['a b', 'c'] }, env: { N: 1, B: true, S: 's' } });
  assert.equal(r.service.restart, 'no');
  assert.deepEqual(r.service.command, ['a b', 'c']);
  assert.deepEqual(r.env, { N: '1', B: 'true', S: 's' });
});
