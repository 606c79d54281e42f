/**
 * Zero-downtime redeploys through the real CLI: supervisor, orchestrator, proxy workers and a
 * real engine. A bounded request loop runs through the proxy the whole time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get, loadLoop, waitForReply } from '../helpers/http.js';
import { writeStack } from '../helpers/stack.js';
import { freePort } from '@dispenser/shared/testing/ports';

/** a log predicate that only matches lines logged after this moment */
function fromNow(daemon: Daemon, pred: (l: LogLine) => boolean): (l: LogLine) => boolean {
  const mark = daemon.lines.length;
  return (l) => daemon.lines.indexOf(l) >= mark && pred(l);
}

/**
 * httpd that answers `body` on /, "ok" on /health (unless health is false) and `slow-<body>` after
 * 6 s on /cgi-bin/slow; exits promptly on SIGTERM
 */
function webImage(ref: string, base: string, body: string, health = true): string {
  return buildAndPush(ref, {
    base,
    files: {
      '/www/index.html': `${body}\n`,
      ...(health ? { '/www/health': 'ok\n' } : {}),
      // CRLF: Node's HTTP parser (the proxy's upstream side) rejects bare-LF header lines
      '/www/cgi-bin/slow': `#!/bin/sh\nsleep 6\nprintf 'Content-Type: text/plain\\r\\n\\r\\nslow-${body}\\n'\n`,
    },
    cmd: ['sh', '-c', 'chmod +x /www/cgi-bin/slow; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'],
  });
}

test('rollout through the proxy under load (real CLI)', { timeout: 420_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-rollout-e2e');
  const svc = randomName('web');
  const host = `${svc}.rollout.test`;
  const repo = `${env.registry}/${randomName('rollout-e2e')}`;
  const port = await freePort();
  const serviceToml = (tag: string, watch = false): string => `
[service]
name = "${svc}"
image = "${repo}:${tag}"

[dispenser]
watch = ${watch}

[proxy]
host = "${host}"
service_port = 8080
health_path = "/health"
health_interval = "250ms"
deploy_timeout = "6s"
drain_timeout = "10s"
`;
  const stack = writeStack(
    `
delay = 1

[proxy]
strategy = "http-only"
http_port = ${port}
bind = "127.0.0.1"
workers = 2

[[service]]
path = "web"
`,
    { web: serviceToml('v1') },
  );
  let daemon: Daemon | undefined;
  try {
    webImage(`${repo}:v1`, env.baseImage, 'v1');
    webImage(`${repo}:v2`, env.baseImage, 'v2');
    webImage(`${repo}:bad`, env.baseImage, 'bad', false);
    daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
    await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'v1');

    await t.test('a new image rolls out with zero failed requests; the body switches from v1 to v2', async () => {
      const loop = loadLoop(port, '/', host, { maxRequests: 20_000, maxMs: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
      stack.write('web/service.toml', serviceToml('v2'));
      const applied = fromNow(daemon!, (l) => l.msg === 'reload: new configuration applied');
      const starting = fromNow(daemon!, (l) => typeof l.msg === 'string' && l.msg.startsWith('rolling out a new container'));
      daemon!.child.kill('SIGHUP');
      // a request still running on the old container when the route switches must finish there
      await daemon!.waitForLog(starting, 60_000);
      const slow = get(port, '/cgi-bin/slow', host, 20_000);
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v2', 60_000);
      // keep the load on through drain and removal of the old container
      await daemon!.waitForLog(applied, 90_000);
      await new Promise((r) => setTimeout(r, 1000));
      const o = await loop.stop();
      assert.equal(o.failed, 0, `failed requests: ${JSON.stringify([...o.statuses])}`);
      assert.ok(o.ok > 50, `only ${o.ok} requests went through`);
      assert.deepEqual([...o.bodies].sort(), ['v1', 'v2']);
      const slowReply = await slow;
      assert.equal(slowReply.status, 200);
      assert.equal(slowReply.body.trim(), 'slow-v1');
      const drained = daemon!.lines.find((l) => l.msg === 'old container drained');
      assert.ok(drained && Number(drained.waitedMs) > 500, `the drain waited for the slow request: ${JSON.stringify(drained)}`);
      const names = docker('ps', '--format', '{{.Names}}', '--filter', `label=dispenser.instance=${instance}`).split('\n').filter(Boolean);
      assert.deepEqual(names, [`${instance}-${svc}`], 'one container, under the service name');
    });

    await t.test('a never-healthy image: zero failed requests, v2 still served, the failure logged', async () => {
      const loop = loadLoop(port, '/', host, { maxRequests: 20_000, maxMs: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
      stack.write('web/service.toml', serviceToml('bad'));
      const failed = fromNow(daemon!, (l) => l.code === 'ROLLOUT_UNHEALTHY' && Array.isArray(l.lastLogs));
      daemon!.child.kill('SIGHUP');
      const failure = await daemon!.waitForLog(failed, 90_000);
      assert.match(String(failure.msg), /HTTP 404/);
      assert.match(String(failure.msg), /new container was removed and the previous one keeps serving/);
      await new Promise((r) => setTimeout(r, 1000));
      const o = await loop.stop();
      assert.equal(o.failed, 0, `failed requests: ${JSON.stringify([...o.statuses])}`);
      assert.deepEqual([...o.bodies], ['v2']);
      const names = docker('ps', '-a', '--format', '{{.Names}}', '--filter', `label=dispenser.instance=${instance}`).split('\n').filter(Boolean);
      assert.deepEqual(names, [`${instance}-${svc}`], 'the failed container was removed');
    });
    await t.test('CD: a push to the watched tag rolls out; a never-healthy push is rolled back once and not retried; the next good push rolls out', async () => {
      webImage(`${repo}:live`, env.baseImage, 'v3');
      stack.write('web/service.toml', serviceToml('live', true));
      const applied = fromNow(daemon!, (l) => l.msg === 'reload: new configuration applied');
      daemon!.child.kill('SIGHUP');
      await daemon!.waitForLog(applied, 90_000);
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v3', 60_000);
      const loop = loadLoop(port, '/', host, { maxRequests: 50_000, maxMs: 150_000 });
      const mark = daemon!.lines.length;
      const badDigest = webImage(`${repo}:live`, env.baseImage, 'bad', false);
      await daemon!.waitForLog(fromNow(daemon!, (l) => typeof l.msg === 'string' && l.msg.startsWith('redeploy failed') && l.to === badDigest), 90_000);
      assert.ok(daemon!.lines.slice(mark).some((l) => l.code === 'ROLLOUT_UNHEALTHY' && Array.isArray(l.lastLogs)), 'the rollback was reported');
      // several polls later: still one attempt for that digest
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal(daemon!.lines.slice(mark).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rolling out a new container')).length, 1);
      const complete = fromNow(daemon!, (l) => typeof l.msg === 'string' && l.msg.includes('complete:'));
      webImage(`${repo}:live`, env.baseImage, 'v4');
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v4', 60_000);
      await daemon!.waitForLog(complete, 60_000);
      await new Promise((r) => setTimeout(r, 500));
      const o = await loop.stop();
      assert.equal(o.failed, 0, `failed requests: ${JSON.stringify([...o.statuses])}`);
      assert.deepEqual([...o.bodies].sort(), ['v3', 'v4']);
    });
  } finally {
    await daemon?.stop();
    removeInstance(instance);
    for (const tag of ['v1', 'v2', 'bad', 'live']) {
      try {
        docker('rmi', '-f', `${repo}:${tag}`);
      } catch {
        // never built
      }
    }
    stack.remove();
  }
});
