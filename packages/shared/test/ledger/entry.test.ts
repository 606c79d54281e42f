import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEntry, needsCompaction, parseLedger, type LedgerEntry } from '../../src/ledger/entry.js';

const entry = (service: string, at = '2026-12-05T10:00:00.000Z'): LedgerEntry => ({
  at,
  service,
  kind: 'deploy',
  trigger: 'digest',
  result: 'ok',
  durationMs: 1200,
  oldDigest: 'sha256:' + 'a'.repeat(64),
  newDigest: 'sha256:' + 'b'.repeat(64),
});

test('parseLedger reads every line back in order', () => {
  const text = encodeEntry(entry('web')) + encodeEntry(entry('worker'));
  assert.deepEqual(parseLedger(text), { entries: [entry('web'), entry('worker')], skipped: 0 });
});

test('a torn last line (a crash mid-append) is skipped and counted, the lines before it kept', () => {
  const whole = encodeEntry(entry('web'));
  const torn = encodeEntry(entry('worker')).slice(0, 30);
  assert.deepEqual(parseLedger(whole + torn), { entries: [entry('web')], skipped: 1 });
});

test('a torn line closed by a later append is skipped without losing the entries after it', () => {
  const text = encodeEntry(entry('web')) + '{"at":"2026-12\n' + encodeEntry(entry('worker'));
  assert.deepEqual(parseLedger(text), { entries: [entry('web'), entry('worker')], skipped: 1 });
});

test('a line that is JSON but no entry is skipped too', () => {
  assert.deepEqual(parseLedger('{"service":"web"}\n'), { entries: [], skipped: 1 });
});

test('retention: the file is rewritten only once it holds more than twice the entries kept', () => {
  assert.equal(needsCompaction(20, 10), false);
  assert.equal(needsCompaction(21, 10), true);
});
