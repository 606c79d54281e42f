import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { runCli, startDaemon } from '@dispenser/shared/testing/daemon';
import { fakeChildren, freePort, get, Workspace } from '../helpers/workspace.js';

test('the daemon starts its children, serves, and `-s stop` exits 0 and removes the pid file', async (t) => {
  const ws = new Workspace(t);
  const port = await freePort();
  ws.writeConfig({ port, workers: 2, tag: 'first.test' });
  const cli = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  // default pid file: next to the config
  assert.equal(readFileSync(ws.pidFile, 'utf8').trim(), String(cli.pid));
  const answer = await get(port);
  assert.equal(answer.tag, 'first.test');
  // both kinds were applied by every worker and reported back in the orchestrator's numbering
  await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.msg === 'applied' && l.kind === 'routes' && l.version === 1);
  await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.msg === 'applied' && l.kind === 'proxy-settings' && l.version === 1);

  const stop = await runCli(['-s', 'stop', '-c', ws.configFile]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`sent stop to the daemon \\(pid ${cli.pid}\\)`));
  // -s stop returns once the daemon is gone
  assert.match(stop.stdout, /dispenser: stopped/);
  assert.equal(await cli.exited, 0);
  assert.equal(existsSync(ws.pidFile), false);
  // every child was told to drain
  assert.ok(cli.find((l) => l.component === 'fake-orchestrator' && l.msg === 'draining'));
  assert.equal(cli.lines.filter((l) => l.component === 'fake-worker' && l.msg === 'draining').length, 2);
});

test('a child that ignores drain is killed after the drain timeout plus a grace period', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 0, enabled: false, tag: 'x', ignoreDrain: true, shutdownTimeoutMs: 300 });
  const cli = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  const orchestrator = await cli.waitForLog((l) => l.msg === 'orchestrator started');
  const since = Date.now();
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
  const took = Date.now() - since;
  assert.ok(took >= 2000 && took < 15_000, `stop took ${took} ms`);
  assert.ok(cli.find((l) => l.msg === 'orchestrator did not exit in time; killing it' && l.afterMs === 2300));
  assert.equal(existsSync(ws.pidFile), false);
  assert.throws(() => process.kill(orchestrator.childPid as number, 0));
});
