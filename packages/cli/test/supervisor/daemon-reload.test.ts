import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { fakeChildren, freePort, get, sleep, Workspace } from '../helpers/workspace.js';

const fromOrchestrator = (msg: string) => (l: LogLine) => l.component === 'fake-orchestrator' && l.msg === msg;

test('reload: an invalid config logs every error and keeps serving the old one; a valid one is applied', async (t) => {
  const ws = new Workspace(t);
  const port = await freePort();
  ws.writeConfig({ port, workers: 1, tag: 'old.test' });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');

  ws.writeConfig({ port, workers: 1, tag: 'broken.test', invalid: true });
  let mark = cli.lines.length;
  const signal = await runCli(['-s', 'reload', '-p', ws.pidFile]);
  assert.equal(signal.code, 0, signal.stderr);
  await cli.waitForLog((l) => l.msg === 'reload failed: still running the previous configuration', 20_000, mark);
  const errors = cli.lines.slice(mark).filter((l) => l.msg === 'reload: configuration error').map((l) => l.error);
  assert.deepEqual(errors, ['dispenser.toml:3:1 bad key', 'web/service.toml:7:5 unknown image']);
  assert.equal((await get(port)).tag, 'old.test');

  // SIGHUP straight to the supervisor does the same as -s reload; workers 1 → 2 needs a restart
  ws.writeConfig({ port, workers: 2, tag: 'new.test' });
  mark = cli.lines.length;
  process.kill(cli.pid, 'SIGHUP');
  await cli.waitForLog((l) => l.msg === 'reload: new configuration applied', 20_000, mark);
  const warning = await cli.waitForLog((l) => l.setting === 'proxy.workers', 20_000, mark);
  assert.equal(warning.level, 40);
  await cli.waitForLog((l) => fromOrchestrator('applied')(l) && l.kind === 'routes' && l.version === 2, 20_000, mark);
  assert.equal((await get(port)).tag, 'new.test');
  // nothing was restarted by a reload
  assert.equal(cli.lines.filter((l) => l.msg === 'orchestrator started').length, 1);
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('under systemd: READY=1 once everything is ready, RELOADING=1/READY=1 around a reload, STOPPING=1', async (t) => {
  const ws = new Workspace(t);
  const port = await freePort();
  ws.writeConfig({ port, workers: 1, tag: 'sd.test' });
  // a stand-in systemd-notify that records its arguments
  const record = join(ws.dir, 'notify.log');
  const fake = join(ws.dir, 'systemd-notify');
  writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${record}\n`);
  chmodSync(fake, 0o755);
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], { ...fakeChildren, NOTIFY_SOCKET: join(ws.dir, 'notify.sock'), PATH: `${ws.dir}:${process.env.PATH}` }, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  const read = (): string[] => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n') : []);
  const lines = async (n: number): Promise<string[]> => {
    for (let i = 0; i < 200 && read().length < n; i++) await sleep(100);
    return read();
  };
  assert.deepEqual(await lines(1), [`--pid=${cli.pid} READY=1`]);
  process.kill(cli.pid, 'SIGHUP');
  const afterReload = await lines(3);
  assert.match(afterReload[1]!, new RegExp(`^--pid=${cli.pid} RELOADING=1 MONOTONIC_USEC=\\d+$`));
  assert.equal(afterReload[2], `--pid=${cli.pid} READY=1`);
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
  assert.equal((await lines(4))[3], `--pid=${cli.pid} STOPPING=1`);
});

test('proxy disabled: no workers, ready with the orchestrator alone, snapshots applied at once', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 4, enabled: false, tag: 'off.test' });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  await cli.waitForLog((l) => fromOrchestrator('applied')(l) && l.kind === 'routes' && l.version === 1);
  assert.equal(cli.find((l) => l.component === 'fake-worker'), undefined);
  process.kill(cli.pid, 'SIGINT');
  assert.equal(await cli.exited, 0);
});
