import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startDaemon } from '@dispenser/shared/testing/daemon';
import { fakeChildren, Workspace } from '../helpers/workspace.js';

test('a second daemon on the same pid file refuses to start; the first keeps running', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x' });
  const first = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await first.waitForLog((l) => l.msg === 'dispenser ready');
  const second = await runCli(['-c', ws.configFile]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`dispenser is already running with pid ${first.pid}`));
  assert.match(second.stderr, /PID_FILE_IN_USE/);
  assert.equal(readFileSync(ws.pidFile, 'utf8').trim(), String(first.pid));
  process.kill(first.pid, 'SIGTERM');
  assert.equal(await first.exited, 0);
  assert.equal(existsSync(ws.pidFile), false);
});

test('a stale pid file (process gone) does not stop a new daemon', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x' });
  writeFileSync(ws.pidFile, '999999\n');
  const cli = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  assert.equal(readFileSync(ws.pidFile, 'utf8').trim(), String(cli.pid));
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('-s with no daemon running says so clearly', async (t) => {
  const ws = new Workspace(t);
  const none = await runCli(['-s', 'reload', '-p', ws.pidFile]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, new RegExp(`no dispenser is running: pid file ${ws.pidFile} does not exist`));
  writeFileSync(ws.pidFile, '999999\n');
  const stale = await runCli(['-s', 'stop', '-p', ws.pidFile]);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /names process 999999, which is gone \(stale pid file\)/);
  const bad = await runCli(['-s', 'restart', '-p', ws.pidFile]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /reload, stop/);
});

test('a missing config file is a clear error before anything starts', async (t) => {
  const ws = new Workspace(t);
  const missing = join(ws.dir, 'nope.toml');
  const r = await runCli(['-c', missing]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /configuration file .*nope\.toml does not exist \[CONFIG_NOT_FOUND\]/);
  assert.equal(existsSync(join(ws.dir, 'dispenser.pid')), false);
});

test('dev -s NAME… runs the daemon with only those services', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x' });
  const cli = startDaemon(['dev', '-c', ws.configFile, '-s', 'web', '-s', 'services/api'], fakeChildren, { t });
  const started = await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.msg === 'started');
  assert.equal(started.devServices, JSON.stringify(['web', 'services/api']));
  assert.equal(started.configFile, ws.configFile);
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('dev without -s runs the daemon in dev mode with every service; flags may come before dev', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x' });
  const cli = startDaemon(['-c', ws.configFile, 'dev'], fakeChildren, { t });
  const started = await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.msg === 'started');
  assert.equal(started.devServices, '[]');
  assert.equal(started.configFile, ws.configFile);
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('--help describes every flag; --version prints the version', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  const run = await runCli(['run', '--help']);
  for (const flag of ['-c, --config', '-p, --pid-file', '-t, --test', '-s, --signal']) assert.ok(run.stdout.includes(flag), `${flag} in:\n${run.stdout}`);
  const dev = await runCli(['dev', '--help']);
  for (const flag of ['-c, --config', '-p, --pid-file', '-s, --service']) assert.ok(dev.stdout.includes(flag), `${flag} in:\n${dev.stdout}`);
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^dispenser\/0\.1\.0 /);
});
