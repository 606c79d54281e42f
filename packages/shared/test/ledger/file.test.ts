import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { LedgerFile, readLedger } from '../../src/ledger/file.js';

const entry = (service: string, n = 0): LedgerEntry => ({
  at: new Date(Date.UTC(2026, 11, 5, 10, 0, n)).toISOString(),
  service,
  kind: 'deploy',
  trigger: 'reload',
  result: 'ok',
  durationMs: n,
  oldDigest: null,
  newDigest: 'sha256:' + 'c'.repeat(64),
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('entries appended are read back, oldest first, by a new reader (after a restart)', (t) => {
  const path = join(tempDir(t), 'ledger.jsonl');
  const ledger = new LedgerFile(path);
  ledger.append(entry('web', 1));
  ledger.append(entry('worker', 2));
  assert.deepEqual(readLedger(path), { entries: [entry('web', 1), entry('worker', 2)], skipped: 0 });
  assert.equal(statSync(path).mode & 0o777, 0o640);
});

test('an absent ledger is an empty one', (t) => {
  assert.deepEqual(readLedger(join(tempDir(t), 'none.jsonl')), { entries: [], skipped: 0 });
});

test('after a torn last line, the next append starts on its own line and is readable', (t) => {
  const path = join(tempDir(t), 'ledger.jsonl');
  new LedgerFile(path).append(entry('web', 1));
  appendFileSync(path, '{"at":"2026-12-05T1');
  new LedgerFile(path).append(entry('worker', 2));
  assert.deepEqual(readLedger(path), { entries: [entry('web', 1), entry('worker', 2)], skipped: 1 });
});

test('retention: past twice the entries kept, the file is rewritten to the newest ones', (t) => {
  const path = join(tempDir(t), 'ledger.jsonl');
  const ledger = new LedgerFile(path, 3);
  for (let n = 1; n <= 6; n++) ledger.append(entry('web', n));
  assert.equal(readLedger(path).entries.length, 6);
  ledger.append(entry('web', 7));
  assert.deepEqual(readLedger(path).entries.map((e) => e.durationMs), [5, 6, 7]);
  // a new writer (after a restart) counts what is there and goes on from it
  const again = new LedgerFile(path, 3);
  for (let n = 8; n <= 10; n++) again.append(entry('web', n));
  assert.deepEqual(readLedger(path).entries.map((e) => e.durationMs), [5, 6, 7, 8, 9, 10]);
  again.append(entry('web', 11));
  assert.deepEqual(readLedger(path).entries.map((e) => e.durationMs), [9, 10, 11]);
});

test('kill -9 while appending in a loop leaves a readable file with every entry but at most the last', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ledger.jsonl');
  const fileModule = new URL('../../src/ledger/file.js', import.meta.url).href;
  // each entry carries a long padding so a write is large enough to be cut by the kill now and then
  const script = `
    const { LedgerFile } = await import(${JSON.stringify(fileModule)});
    const ledger = new LedgerFile(${JSON.stringify(path)});
    for (let n = 0; ; n++) {
      ledger.append({ at: new Date().toISOString(), service: 'web', kind: 'deploy', trigger: 'manual', result: 'ok', durationMs: n, oldDigest: null, newDigest: 'x'.repeat(20000) });
      if (n === 20) process.stdout.write('going\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 150));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const { entries, skipped } = readLedger(path);
  assert.ok(entries.length > 20, `only ${entries.length} entries`);
  assert.ok(skipped <= 1, `${skipped} lines unreadable`);
  assert.equal(entries.length + skipped, lines.length);
  // every entry written before the last is there, in order, none lost in the middle
  assert.deepEqual(entries.map((e) => e.durationMs), entries.map((_, i) => i));
});

test('a missing state directory is created on the first append', (t) => {
  const path = join(tempDir(t), 'state', 'ledger.jsonl');
  new LedgerFile(path).append(entry('web', 1));
  assert.equal(readLedger(path).entries.length, 1);
});
