/**
 * Issue 18 item 2: with socket activation, `systemctl restart dispenser` (and a package upgrade,
 * which restarts it) refuses no connection. systemd-socket-activate binds the port and passes it
 * on; a small holder (helpers/socket-holder.ts) keeps it, as systemd does, and runs the real
 * daemon again after it stops. Requests run in a loop across the stop and the start: they wait in
 * the kernel's backlog while no process accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { infra } from '@dispenser/shared/testing/infra';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get } from '../helpers/http.js';
import { writeStack } from '../helpers/stack.js';
import { freePorts, sleep } from '../helpers/supervision.js';

const HOLDER = fileURLToPath(new URL('../helpers/socket-holder.js', import.meta.url));
const READY = (l: LogLine): boolean => l.component === 'supervisor' && l.msg === 'dispenser ready';
const MAX_REQUESTS = 4_000;
const MAX_MS = 40_000;
const LOOPS = 4;

const haveActivate = spawnSync('systemd-socket-activate', ['--version']).status === 0;

test('a restart under socket activation refuses no connection', { timeout: 120_000, skip: haveActivate ? false : 'systemd-socket-activate is not installed (scripts/infra/install.sh)' }, async (t) => {
  if (!infra(t, 'docker')) return;
  const [port] = (await freePorts(1)) as [number];
  const instance = randomName('test-sockact');
  // no service: every request gets the proxy's own 404, which needs no container
  const stack = writeStack(`[proxy]\nstrategy = "http-only"\nhttp_port = ${port}\nbind = "127.0.0.1"\nworkers = 2\nshutdown_timeout = "2s"\n`, {});
  const daemon: Daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance }, { wrap: ['systemd-socket-activate', '-l', `127.0.0.1:${port}`, '--fdname=http', process.execPath, HOLDER] });
  t.after(async () => {
    await daemon.stop(30_000);
    removeInstance(instance);
    stack.remove();
  });

  // systemd-socket-activate starts its command on the first connection, which then waits
  const first = await get(port, '/', 'nothing.test', 30_000);
  assert.equal(first.status, 404);
  await daemon.waitForLog(READY);
  const activation = await daemon.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('socket activation:'));
  assert.deepEqual(activation.sockets, [`http 127.0.0.1:${port}`]);
  const starting = await daemon.waitForLog((l) => l.msg === 'dispenser supervisor starting');
  const pid = Number(starting.supervisorPid);

  // bounded loop: LOOPS clients, fresh connection per request, MAX_REQUESTS and MAX_MS in all
  const failures = new Map<string, number>();
  let served = 0;
  let sent = 0;
  let stop = false;
  const began = Date.now();
  const loop = async (): Promise<void> => {
    while (!stop && sent < MAX_REQUESTS && Date.now() - began < MAX_MS) {
      sent++;
      try {
        await get(port, '/', 'nothing.test', 20_000);
        served++;
        // paced, so the bounded count spans the stop and the start again
        await sleep(5);
      } catch (err) {
        const key = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);

  await sleep(300);
  const servedBeforeStop = served;
  process.kill(pid, 'SIGTERM');
  await daemon.waitForLog((l) => l.msg === 'stopped' && l.component === 'supervisor', 30_000);
  const readyCount = (): number => daemon.lines.filter(READY).length;
  while (readyCount() < 2) {
    assert.ok(Date.now() - began < MAX_MS, 'the daemon was ready again in time');
    await sleep(50);
  }
  const servedAtRestart = served;
  await sleep(500);
  stop = true;
  await Promise.all(loops);

  const second = daemon.lines.filter((l) => l.msg === 'dispenser supervisor starting');
  assert.equal(second.length, 2, 'the daemon ran twice under the same socket');
  assert.notEqual(second[1]!.supervisorPid, pid);
  assert.deepEqual(Object.fromEntries(failures), {}, `no request failed (${served} served of ${sent})`);
  assert.ok(servedBeforeStop > 0 && served > servedAtRestart, `traffic before and after the restart (${servedBeforeStop} before the stop, ${served - servedAtRestart} after the restart)`);
});
