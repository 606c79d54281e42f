/**
 * Issue 18, routes: through the real CLI and a real engine.
 * - A restarting Dispenser serves the containers that already run while its startup work (here a
 *   depends_on wait that never ends) is pending: zero 404s under a request loop.
 * - A proxied container that exits is reported (exit code, last lines, secrets scrubbed), its host
 *   answers 503 with Retry-After (unknown hosts still 404), and a reload starts it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { infra } from '@dispenser/shared/testing/infra';
import { freePort } from '@dispenser/shared/testing/ports';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get, waitForReply } from '../helpers/http.js';
import { writeStack } from '../helpers/stack.js';

function fromNow(daemon: Daemon, pred: (l: LogLine) => boolean): (l: LogLine) => boolean {
  const mark = daemon.lines.length;
  return (l) => daemon.lines.indexOf(l) >= mark && pred(l);
}

const mainToml = (port: number, services: string[]): string => `
delay = 60

[proxy]
strategy = "http-only"
http_port = ${port}
bind = "127.0.0.1"
workers = 1
${services.map((s) => `\n[[service]]\npath = "${s}"\n`).join('')}`;

/**
 * Requests back to back, bounded in count and time. A refused connection (no daemon listening
 * between the stop and the start) is counted apart and paced, so the loop does not spin.
 */
function requestLoop(port: number, host: string, opts: { maxRequests: number; maxMs: number }) {
  const statuses = new Map<string, number>();
  let stopped = false;
  const done = (async () => {
    const start = Date.now();
    for (let i = 0; i < opts.maxRequests && !stopped && Date.now() - start < opts.maxMs; i++) {
      let key: string;
      try {
        key = String((await get(port, '/', host, 3000)).status);
      } catch (e) {
        key = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        await new Promise((r) => setTimeout(r, 20));
      }
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return statuses;
    },
  };
}

test('a restarting Dispenser serves the running containers while slow startup work is pending: zero 404s', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-i18-restart');
  const repo = `${env.registry}/${randomName('i18-restart')}`;
  const port = await freePort();
  const host = 'web.i18.test';
  const stack = writeStack(mainToml(port, ['web']), {
    web: `[service]\nname = "web"\nimage = "${repo}:web"\n\n[proxy]\nhost = "${host}"\nservice_port = 8080\n\n[dispenser]\nwatch = false\n`,
    // added for the restart: gate never completes, so slow waits on it for the whole test
    gate: `[service]\nname = "gate"\nimage = "${repo}:web"\ncommand = ["sleep", "3600"]\n\n[dispenser]\nwatch = false\n`,
    slow: `[service]\nname = "slow"\nimage = "${repo}:web"\n\n[depends_on]\ngate = "completed"\n\n[proxy]\nhost = "slow.i18.test"\nservice_port = 8080\n\n[dispenser]\nwatch = false\n`,
  });
  let daemon: Daemon | undefined;
  try {
    buildAndPush(`${repo}:web`, { base: env.baseImage, files: { '/www/index.html': 'web\n' }, cmd: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'] });
    daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    await daemon.waitForLog((l) => l.msg === 'dispenser ready', 90_000);
    await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'web');

    const loop = requestLoop(port, host, { maxRequests: 100_000, maxMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await daemon.stop(), 0);
    stack.write('dispenser.toml', mainToml(port, ['web', 'gate', 'slow']));
    daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    // the startup reconcile is stuck on slow's dependency for minutes; web must be served meanwhile
    await daemon.waitForLog((l) => l.msg === 'waiting for gate to be completed', 60_000);
    const served = Date.now();
    await waitForReply(port, '/', host, (r) => r.status === 200, 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    const statuses = await loop.stop();
    assert.equal(statuses.get('404') ?? 0, 0, `404s after the restart: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get('200') ?? 0) > 20, `requests served: ${JSON.stringify([...statuses])}`);
    assert.ok(Date.now() - served < 30_000);
    // the declared service that is not up yet answers 503, not 404
    const slow = await get(port, '/', 'slow.i18.test');
    assert.equal(slow.status, 503);
    assert.ok(slow.headers['retry-after']);
    assert.equal((await get(port, '/', 'nobody.i18.test')).status, 404);
  } finally {
    await daemon?.stop();
    removeInstance(instance);
    try {
      docker('rmi', '-f', `${repo}:web`);
    } catch {
      // never built
    }
    stack.remove();
  }
});

test('a proxied container that exits: error log with exit code and scrubbed last lines, 503 with Retry-After, 404 for unknown hosts, a reload starts it again', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-i18-exit');
  const repo = `${env.registry}/${randomName('i18-exit')}`;
  const port = await freePort();
  const host = 'crash.i18.test';
  const secret = `s3cr3t-${randomName('token')}`;
  const stack = writeStack(mainToml(port, ['crash']), {
    crash: `[service]\nname = "crash"\nimage = "${repo}:crash"\n\n[env]\nTOKEN = "\${ token }"\n\n[proxy]\nhost = "${host}"\nservice_port = 8080\n\n[dispenser]\nwatch = false\n`,
  });
  writeFileSync(join(stack.dir, 'token.txt'), `${secret}\n`);
  stack.write('dispenser.vars', 'token = { source = "file", path = "token.txt" }\n');
  let daemon: Daemon | undefined;
  try {
    buildAndPush(`${repo}:crash`, {
      base: env.baseImage,
      files: {
        '/www/index.html': 'up\n',
        // serves until /die appears (a restart of the same container starts over), then says why it gives up (echoing the secret) and exits 3
        '/run.sh': '#!/bin/sh\ntrap "exit 0" TERM\nrm -f /die\nhttpd -f -p 8080 -h /www &\necho "booting with token=$TOKEN"\nwhile [ ! -f /die ]; do sleep 1; done\necho "fatal: giving up, token=$TOKEN"\nexit 3\n',
      },
      cmd: ['sh', '/run.sh'],
    });
    daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    await daemon.waitForLog((l) => l.msg === 'dispenser ready', 90_000);
    await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'up');

    const exited = fromNow(daemon, (l) => l.code === 'CONTAINER_EXITED');
    docker('exec', `${instance}-crash`, 'touch', '/die');
    const report = await daemon.waitForLog(exited, 30_000);
    assert.equal(report.level, 50, 'logged at error');
    assert.equal(report.exitCode, 3);
    assert.equal(report.service, 'crash');
    assert.equal(report.component, 'orchestrator');
    assert.match(String(report.msg), /exited with code 3/);
    const lastLogs = report.lastLogs as string[];
    assert.ok(lastLogs.some((l) => l.startsWith('fatal: giving up')), `last lines: ${JSON.stringify(lastLogs)}`);
    assert.ok(!daemon.lines.some((l) => JSON.stringify(l).includes(secret)), 'the secret never reaches the log');
    assert.ok(lastLogs.some((l) => l.includes('[secret]')));

    // between the exit and the new route table (a fraction of a second) the proxy still tries the dead address: 502
    const down = await waitForReply(port, '/', host, (r) => r.status === 503, 10_000);
    assert.equal(down.headers['retry-after'], '5');
    assert.equal((await get(port, '/', 'nobody.i18.test')).status, 404);

    const reloaded = fromNow(daemon, (l) => l.msg === 'reload: new configuration applied');
    daemon.child.kill('SIGHUP');
    await daemon.waitForLog(reloaded, 60_000);
    assert.ok(!daemon.lines.some((l) => l.service === 'crash' && l.msg === 'container is up to date: adopted' && exited(l)), 'the exited container is not "adopted"');
    await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'up', 20_000);
  } finally {
    await daemon?.stop();
    removeInstance(instance);
    try {
      docker('rmi', '-f', `${repo}:crash`);
    } catch {
      // never built
    }
    stack.remove();
  }
});
