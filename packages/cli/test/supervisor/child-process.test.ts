import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@dispenser/shared/ipc/messages';
import { forkOrchestrator } from '../../src/supervisor/child-process.js';

test('messages from a child are validated at the supervisor: a malformed snapshot is dropped, never relayed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-child-ipc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const entry = join(dir, 'child.mjs');
  writeFileSync(entry, `
process.send({ dispenser: 1, msg: { type: 'routes', version: 'bad', routes: [] } });
process.send({ dispenser: 1, msg: { type: 'routes', version: 2, routes: [{ service: 'web', host: 'a.test', path: '/', upstream: { host: '', port: 80 } }] } });
process.send({ dispenser: 1, msg: { type: 'routes', version: 3, routes: [], extra: true } });
process.send({ dispenser: 1, msg: { type: 'routes', version: 4, routes: [] } }, () => process.disconnect());
`);
  const child = forkOrchestrator(entry, process.env);
  const valid: Message[] = [];
  const invalid: unknown[] = [];
  const exited = new Promise<void>((resolve) => child.onExit(() => resolve()));
  // IPC keeps the order: once the last (valid) message is in, the three before it were handled
  await new Promise<void>((resolve) => child.onMessage((m) => { valid.push(m); resolve(); }, (raw) => invalid.push(raw)));
  await exited;
  // proxy workers only open the envelope (envelope.ts): this is where fields are checked
  assert.deepEqual(valid, [{ type: 'routes', version: 4, routes: [] }]);
  assert.equal(invalid.length, 3, 'a bad version, an empty upstream host, an unknown field');
});
