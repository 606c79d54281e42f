import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockPort } from '../../testing/port-lock.js';

// a port number nobody else locks: the lock is only a name, nothing binds it
const port = 40_000 + (process.pid % 20_000);
const dir = join(tmpdir(), `dispenser-test-port-${port}.lock`);

test('lockPort: one holder at a time; release lets the next in', async () => {
  rmSync(dir, { recursive: true, force: true });
  const release = await lockPort(port, 1000);
  assert.ok(existsSync(dir));
  await assert.rejects(lockPort(port, 300), /locked by process \d+/);
  release();
  assert.ok(!existsSync(dir));
  const again = await lockPort(port, 1000);
  again();
  again(); // idempotent
});

test('lockPort: a lock left by a dead process is taken over', async () => {
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pid'), dead.stdout.trim());
  const release = await lockPort(port, 2000);
  release();
  assert.ok(!existsSync(dir));
});
