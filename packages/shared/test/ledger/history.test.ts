import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { digestChange, renderHistory, selectHistory } from '../../src/ledger/history.js';

const A = 'sha256:' + '0123456789ab'.repeat(5) + 'cdef';
const B = 'sha256:' + 'ba9876543210'.repeat(5) + 'fedc';

const entry = (service: string, minute: number, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  at: `2026-12-05T10:${String(minute).padStart(2, '0')}:00.000Z`,
  service,
  kind: 'deploy',
  trigger: 'startup',
  result: 'ok',
  durationMs: 1500,
  oldDigest: null,
  newDigest: A,
  ...extra,
});

test('selectHistory: newest first, one service, at most the limit', () => {
  const entries = [entry('web', 1), entry('worker', 2), entry('web', 3), entry('web', 4)];
  assert.deepEqual(selectHistory(entries, { limit: 10 }).map((e) => e.at.slice(14, 16)), ['04', '03', '02', '01']);
  assert.deepEqual(selectHistory(entries, { service: 'web', limit: 2 }).map((e) => e.at.slice(14, 16)), ['04', '03']);
  assert.deepEqual(selectHistory(entries, { service: 'nope', limit: 2 }), []);
});

test('digestChange shortens both digests and shows one when nothing changed', () => {
  assert.equal(digestChange(A, B), '0123456789ab → ba9876543210');
  assert.equal(digestChange(null, A), '- → 0123456789ab');
  assert.equal(digestChange(A, A), '0123456789ab');
  assert.equal(digestChange(null, null), '-');
});

test('renderHistory: one aligned row per entry with trigger, digests, result, duration and exit code', () => {
  const lines = renderHistory([
    entry('backup', 5, { kind: 'job', trigger: 'cron', result: 'failed', exitCode: 3, durationMs: 65_000, oldDigest: A, newDigest: A }),
    entry('web', 4, { trigger: 'digest', result: 'failed', code: 'ROLLOUT_UNHEALTHY', oldDigest: A, newDigest: B, durationMs: 300 }),
  ]);
  assert.deepEqual(lines, [
    'TIME                  SERVICE  KIND    TRIGGER  DIGEST                       RESULT                      DURATION  EXIT',
    '2026-12-05 10:05:00Z  backup   job     cron     0123456789ab                 failed                      1m05s     3',
    '2026-12-05 10:04:00Z  web      deploy  digest   0123456789ab → ba9876543210  failed (ROLLOUT_UNHEALTHY)  300ms     -',
  ]);
});

test('renderHistory says so when nothing was recorded', () => {
  assert.deepEqual(renderHistory([]), ['no deploys recorded yet']);
});
