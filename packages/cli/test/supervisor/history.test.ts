import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DispenserError } from '@dispenser/shared/errors';
import { LedgerFile } from '@dispenser/shared/ledger/file';
import { ledgerPathFor, readHistory } from '../../src/supervisor/history.js';

test('the ledger is read beside the control socket', () => {
  assert.equal(ledgerPathFor('/opt/dispenser/.dispenser/control.sock'), '/opt/dispenser/.dispenser/ledger.jsonl');
});

test('a history request is answered from the ledger file, newest first, filtered and limited', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-history-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'ledger.jsonl');
  const ledger = new LedgerFile(path);
  for (const [n, service] of ['web', 'worker', 'web'].entries()) {
    ledger.append({ at: `2026-12-05T10:0${n}:00.000Z`, service, kind: 'deploy', trigger: 'startup', result: 'ok', durationMs: n, oldDigest: null, newDigest: null });
  }
  assert.deepEqual(readHistory(path, {}).entries.map((e) => e.durationMs), [2, 1, 0]);
  assert.deepEqual(readHistory(path, { service: 'web', limit: 1 }).entries.map((e) => e.durationMs), [2]);
  assert.deepEqual(readHistory(join(dir, 'absent.jsonl'), {}), { entries: [], skipped: 0 });
});

test('a ledger that cannot be read is LEDGER_UNREADABLE', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-history-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => readHistory(dir, {}), (err: unknown) => err instanceof DispenserError && err.code === 'LEDGER_UNREADABLE');
});
