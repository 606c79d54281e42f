/**
 * The control socket through the real CLI (issue 21 items 1-3): `dispenser status` and
 * `dispenser logs` against a running daemon with real containers, and without a daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { infra } from '@dispenser/shared/testing/infra';
import type { Status } from '@dispenser/shared/control/status';
import { CLI, runCli, startDaemon, type Daemon } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { freePort, sleep, waitExit } from '../helpers/supervision.js';
import { writeStack } from '../helpers/stack.js';

/** runs `dispenser status --json` until `pred` holds; returns the last status and exit code */
async function statusUntil(args: string[], env: NodeJS.ProcessEnv, pred: (s: Status, code: number | null) => boolean, timeoutMs = 60_000): Promise<{ status: Status; code: number | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runCli(['status', '--json', ...args], env);
    const status = JSON.parse(r.stdout) as Status;
    if (pred(status, r.code) || Date.now() > deadline) return { status, code: r.code };
    await sleep(500);
  }
}

test('dispenser status and dispenser logs through the control socket', { timeout: 300_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-control');
  const repo = `${env.registry}/${randomName('control')}`;
  const port = await freePort();
  const host = 'web.control.test';
  const secret = `s3cr3t-${randomName('token')}`;
  const stack = writeStack(
    `[proxy]\nstrategy = "http-only"\nhttp_port = ${port}\nbind = "127.0.0.1"\nworkers = 1\nshutdown_timeout = "2s"\n\n[[service]]\npath = "web"\n\n[[service]]\npath = "chatty"\n`,
    {
      web: `[service]\nname = "web"\nimage = "${repo}:web"\n\n[proxy]\nhost = "${host}"\nservice_port = 8000\n\n[dispenser]\nwatch = false\n`,
      chatty: `[service]\nname = "chatty"\nimage = "${repo}:chatty"\n\n[env]\nTOKEN = "\${ token }"\n\n[dispenser]\nwatch = false\n`,
    },
  );
  writeFileSync(join(stack.dir, 'token.txt'), `${secret}\n`);
  stack.write('dispenser.vars', 'token = { source = "file", path = "token.txt" }\n');
  const dispenserEnv = { DISPENSER_INSTANCE: instance };
  const c = ['-c', stack.configFile];
  let daemon: Daemon | undefined;
  t.after(async () => {
    await daemon?.stop();
    removeInstance(instance);
    for (const tag of ['web', 'chatty']) {
      try {
        docker('rmi', '-f', `${repo}:${tag}`);
      } catch {
        // never built
      }
    }
    stack.remove();
  });

  // no daemon: exit 2 and say so
  const none = await runCli(['status', ...c], dispenserEnv);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no dispenser is running.*\[DAEMON_NOT_RUNNING\]/);
  assert.equal((await runCli(['logs', 'web', ...c], dispenserEnv)).code, 2);

  const webDigest = buildAndPush(`${repo}:web`, {
    base: env.baseImage,
    files: { '/www/index.html': 'up\n' },
    cmd: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8000 -h /www & wait'],
    healthcheck: 'wget -q -O /dev/null http://127.0.0.1:8000/ || exit 1',
  });
  buildAndPush(`${repo}:chatty`, {
    base: env.baseImage,
    files: { '/run.sh': '#!/bin/sh\ntrap "exit 0" TERM\necho "hello token=$TOKEN"\necho "a warning" >&2\ni=0\nwhile true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done\n' },
    cmd: ['sh', '/run.sh'],
  });
  daemon = startDaemon(c, dispenserEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 90_000);

  const socket = join(stack.dir, '.dispenser', 'control.sock');
  const st = lstatSync(socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660, 'owner and group only');
  assert.equal(lstatSync(join(stack.dir, '.dispenser')).mode & 0o010, 0o010, 'the group may reach the socket');

  // healthy: exit 0, with the facts of each service
  const healthy = await statusUntil(c, dispenserEnv, (_s, code) => code === 0);
  assert.equal(healthy.code, 0, JSON.stringify(healthy.status));
  const s = healthy.status;
  assert.equal(s.degraded, false);
  assert.equal(s.daemon.ready, true);
  assert.equal(s.daemon.configGeneration, 1);
  assert.equal(s.daemon.orchestrator, 'running');
  assert.match(s.daemon.version, /^\d+\.\d+\.\d+/);
  const web = s.services?.find((x) => x.name === 'web');
  assert.ok(web, 'web is listed');
  assert.equal(web.state, 'running');
  assert.equal(web.container?.health, 'healthy');
  assert.equal(web.runningDigest, webDigest);
  assert.deepEqual(web.routes, [{ host, path: '/' }]);
  assert.equal(web.lastDeploy?.trigger, 'startup');
  assert.equal(web.lastDeploy?.result, 'ok');
  assert.equal(s.services?.find((x) => x.name === 'chatty')?.state, 'running');

  const text = await runCli(['status', ...c], dispenserEnv);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^dispenser \S+ {2}pid \d+ {2}up .* {2}config generation 1 {2}ok$/m);
  assert.match(text.stdout, /^web +running +healthy +[0-9a-f]{12} .*web\.control\.test/m);

  // logs: stdout and stderr apart, the secret redacted, -n
  const logs = await runCli(['logs', 'chatty', ...c], dispenserEnv);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^hello token=/m);
  assert.match(logs.stdout, /^tick 1$/m);
  assert.ok(!logs.stdout.includes(secret), 'the secret is redacted');
  assert.match(logs.stderr, /^a warning$/m);
  assert.doesNotMatch(logs.stdout, /a warning/);
  // the engine may answer a tail taken just as a line is written with nothing: ask again then
  let tail = await runCli(['logs', 'chatty', '-n', '2', ...c], dispenserEnv);
  for (let i = 0; i < 3 && tail.stdout === ''; i++) tail = await runCli(['logs', 'chatty', '-n', '2', ...c], dispenserEnv);
  assert.deepEqual(tail.stdout.split('\n').slice(0, -1).map((l) => l.replace(/\d+/, 'N')), ['tick N', 'tick N'], tail.stdout);

  // -f: new output arrives; Ctrl-C ends it cleanly
  const follow = spawn(process.execPath, [CLI, 'logs', 'chatty', '-f', '-n', '0', ...c], { env: { ...process.env, ...dispenserEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
  const deadline = Date.now() + 15_000;
  while (followed.split('\n').filter((l) => l.startsWith('tick ')).length < 3 && Date.now() < deadline) await sleep(100);
  assert.ok(followed.split('\n').filter((l) => l.startsWith('tick ')).length >= 3, `followed output: ${followed}`);
  follow.kill('SIGINT');
  assert.equal(await waitExit(follow, 10_000), 0);

  const unknown = await runCli(['logs', 'nosuch', ...c], dispenserEnv);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[SERVICE_UNKNOWN\]/);

  // degraded: web's health check fails → exit 1 and why
  docker('exec', `${instance}-web`, 'rm', '/www/index.html');
  const degraded = await statusUntil(c, dispenserEnv, (_s, code) => code === 1);
  assert.equal(degraded.code, 1);
  assert.equal(degraded.status.degraded, true);
  assert.deepEqual(degraded.status.services?.find((x) => x.name === 'web')?.problems, ['health check failing']);

  // stop: the socket goes with the daemon
  assert.equal(await daemon.stop(), 0);
  daemon = undefined;
  assert.equal(existsSync(socket), false, 'socket removed at exit');
  assert.equal((await runCli(['status', ...c], dispenserEnv)).code, 2);
});
