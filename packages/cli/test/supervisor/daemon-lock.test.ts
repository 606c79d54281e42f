import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDaemonLock, lockName } from '../../src/supervisor/daemon-lock.js';
import { isAlive, startDaemon } from '@dispenser/shared/testing/daemon';
import { fakeChildren, Workspace } from '../helpers/workspace.js';

const linux = process.platform === 'linux';

test('daemon lock: held by every process that inherited it, released when the last one exits (issue 18)', { skip: !linux }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'link');
  symlinkSync(dir, link);
  assert.equal(lockName(link), lockName(dir), 'the real path names the lock');

  const first = await acquireDaemonLock(dir);
  await assert.rejects(acquireDaemonLock(link), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DAEMON_STILL_RUNNING');
    assert.match(err.message, new RegExp(`pid ${process.pid}\\b`));
    return true;
  });

  // a child that got the descriptor the way the supervisor's children get it, and outlives the holder
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore', 'ignore', first.fd] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  first.release();
  await assert.rejects(acquireDaemonLock(dir), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'DAEMON_STILL_RUNNING');
    assert.match(err.message, new RegExp(`pid ${child.pid}\\b`), 'names the orphan');
    assert.doesNotMatch(err.message, new RegExp(`pid ${process.pid}\\b`), 'the released holder is not named');
    assert.match(err.hint ?? '', new RegExp(`kill ${child.pid}`));
    return true;
  });

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const again = await acquireDaemonLock(dir);
  again.release();
});

test('a second daemon on the same config refuses to start while a child of a killed supervisor still runs (issue 18)', { skip: !linux, timeout: 60_000 }, async (t) => {
  const ws = new Workspace(t);
  // an orchestrator that ignores drain and disconnect: an orphan that does not go away by itself
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x', ignoreDrain: true });
  const first = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await first.waitForLog((l) => l.msg === 'dispenser ready');
  const orphan = (await first.waitForLog((l) => l.msg === 'orchestrator started')).childPid as number;
  process.kill(first.pid, 'SIGKILL');
  await first.exited;
  assert.ok(isAlive(orphan), 'the orchestrator outlived its supervisor');

  // the supervisor is dead, so the pid file is stale: only the lock can tell
  const second = startDaemon(['-c', ws.configFile, '-p', join(ws.dir, 'other.pid')], fakeChildren, { t });
  assert.equal(await second.exited, 1);
  const stderr = second.text.join('\n');
  assert.match(stderr, new RegExp(`still running: pid ${orphan} \\(dispenser: orchestrator.*\\[DAEMON_STILL_RUNNING\\]`));
  assert.ok(!second.find((l) => l.msg === 'orchestrator started'), 'nothing was started');

  process.kill(orphan, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(orphan); i++) await new Promise((r) => setTimeout(r, 100));
  const third = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await third.waitForLog((l) => l.msg === 'dispenser ready');
  process.kill(third.pid, 'SIGTERM');
  await third.exited;
});
