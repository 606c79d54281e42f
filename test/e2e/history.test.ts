/**
 * The deploy ledger through the real CLI (issue 21 item 4): `dispenser history` lists the
 * startup deploy and a reload's deploy with their digests, and still does after a restart, when
 * `dispenser status` also still knows the last deploy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import type { History } from '@dispenser/shared/control/protocol';
import type { Status } from '@dispenser/shared/control/status';
import { runCli, startDaemon, type Daemon } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { freePort, sleep } from '../helpers/supervision.js';
import { writeStack } from '../helpers/stack.js';

/** runs `dispenser history --json` until `pred` holds; returns the last answer */
async function historyUntil(args: string[], env: NodeJS.ProcessEnv, pred: (h: History) => boolean, timeoutMs = 60_000): Promise<History> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runCli(['history', '--json', ...args], env);
    assert.equal(r.code, 0, r.stderr);
    const history = JSON.parse(r.stdout) as History;
    if (pred(history) || Date.now() > deadline) return history;
    await sleep(500);
  }
}

test('dispenser history: deploys recorded with trigger and digests, kept across a restart', { timeout: 300_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-history');
  const repo = `${env.registry}/${randomName('history')}`;
  const port = await freePort();
  const serviceToml = (tag: string): string => `[service]\nname = "app"\nimage = "${repo}:${tag}"\n\n[dispenser]\nwatch = false\n`;
  const stack = writeStack(`[proxy]\nstrategy = "http-only"\nhttp_port = ${port}\nbind = "127.0.0.1"\nworkers = 1\nshutdown_timeout = "2s"\n\n[[service]]\npath = "app"\n`, { app: serviceToml('v1') });
  const dispenserEnv = { DISPENSER_INSTANCE: instance };
  const c = ['-c', stack.configFile];
  let daemon: Daemon | undefined;
  t.after(async () => {
    await daemon?.stop();
    removeInstance(instance);
    for (const tag of ['v1', 'v2']) {
      try {
        docker('rmi', '-f', `${repo}:${tag}`);
      } catch {
        // never built
      }
    }
    stack.remove();
  });

  const image = (version: string) => ({ base: env.baseImage, files: { '/version': `${version}\n` }, cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'] });
  const v1 = buildAndPush(`${repo}:v1`, image('v1'));
  const v2 = buildAndPush(`${repo}:v2`, image('v2'));
  assert.notEqual(v1, v2);

  daemon = startDaemon(c, dispenserEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 90_000);
  const started = await historyUntil(c, dispenserEnv, (h) => h.entries.length >= 1);
  assert.deepEqual(
    started.entries.map((e) => [e.service, e.kind, e.trigger, e.result, e.oldDigest, e.newDigest]),
    [['app', 'deploy', 'startup', 'ok', null, v1]],
  );

  // a reload that changes the image redeploys: recorded with the digest before and after
  stack.write('app/service.toml', serviceToml('v2'));
  daemon.child.kill('SIGHUP');
  const reloaded = await historyUntil(c, dispenserEnv, (h) => h.entries.length >= 2);
  assert.deepEqual(
    reloaded.entries.map((e) => [e.trigger, e.result, e.oldDigest, e.newDigest]),
    [
      ['reload', 'ok', v1, v2],
      ['startup', 'ok', null, v1],
    ],
    'newest first',
  );
  assert.ok(reloaded.entries.every((e) => Number.isInteger(e.durationMs) && !Number.isNaN(Date.parse(e.at))));

  const short = (d: string): string => d.replace('sha256:', '').slice(0, 12);
  const text = await runCli(['history', 'app', '-n', '1', ...c], dispenserEnv);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, 2, 'a header and one entry');
  assert.match(lines[1] ?? '', new RegExp(`app +deploy +reload +${short(v1)} → ${short(v2)} +ok `));

  // a restart: the ledger is read back, by history and by status's last deploy
  await daemon.stop();
  daemon = startDaemon(c, dispenserEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 90_000);
  const after = await historyUntil(c, dispenserEnv, () => true);
  assert.deepEqual(after.entries.slice(0, 2).map((e) => [e.trigger, e.oldDigest, e.newDigest]), [
    ['reload', v1, v2],
    ['startup', null, v1],
  ]);
  const status = JSON.parse((await runCli(['status', '--json', ...c], dispenserEnv)).stdout) as Status;
  assert.equal(status.services?.find((s) => s.name === 'app')?.lastDeploy?.trigger, 'reload', 'the last deploy before the restart');
});
