/**
 * Zero-downtime redeploys through the real CLI: supervisor, orchestrator, proxy workers and a
 * real engine. A bounded request loop runs through the proxy the whole time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { infra } from '@dispenser/shared/testing/infra';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { buildAndPush, docker, randomName, removeInstance } from '../helpers/docker.js';
import { loadLoop, waitForReply } from '../helpers/http.js';
import { writeStack } from '../helpers/stack.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** httpd that answers `body` on / and "ok" on /health (unless health is false); exits promptly on SIGTERM */
function webImage(ref: string, base: string, body: string, health = true): string {
  return buildAndPush(ref, {
    base,
    files: { '/www/index.html': `${body}\n`, ...(health ? { '/www/health': 'ok\n' } : {}) },
    cmd: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'],
  });
}

test('rollout through the proxy under load (real CLI)', { timeout: 240_000 }, async (t) => {
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
drain_timeout = "5s"
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
      daemon!.child.kill('SIGHUP');
      await daemon!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('every proxy worker routes to the new container'), 60_000);
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v2');
      // keep the load on through drain and removal of the old container
      await daemon!.waitForLog((l) => l.msg === 'reload: new configuration applied', 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      const o = await loop.stop();
      assert.equal(o.failed, 0, `failed requests: ${JSON.stringify([...o.statuses])}`);
      assert.ok(o.ok > 50, `only ${o.ok} requests went through`);
      assert.deepEqual([...o.bodies].sort(), ['v1', 'v2']);
      const names = docker('ps', '--format', '{{.Names}}', '--filter', `label=dispenser.instance=${instance}`).split('\n').filter(Boolean);
      assert.deepEqual(names, [`${instance}-${svc}`], 'one container, under the service name');
    });

    await t.test('a never-healthy image: zero failed requests, v2 still served, the failure logged', async () => {
      const loop = loadLoop(port, '/', host, { maxRequests: 20_000, maxMs: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
      stack.write('web/service.toml', serviceToml('bad'));
      daemon!.child.kill('SIGHUP');
      const failure = await daemon!.waitForLog((l) => l.code === 'ROLLOUT_UNHEALTHY' && Array.isArray(l.lastLogs), 60_000);
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
      daemon!.child.kill('SIGHUP');
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v3', 60_000);
      const loop = loadLoop(port, '/', host, { maxRequests: 50_000, maxMs: 90_000 });
      const mark = daemon!.lines.length;
      const badDigest = webImage(`${repo}:live`, env.baseImage, 'bad', false);
      await daemon!.waitForLog((l) => l.code === 'ROLLOUT_UNHEALTHY' && Array.isArray(l.lastLogs), 60_000);
      await daemon!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('redeploy failed') && l.to === badDigest, 10_000);
      // several polls later: still one attempt for that digest
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal(daemon!.lines.slice(mark).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rolling out a new container')).length, 1);
      webImage(`${repo}:live`, env.baseImage, 'v4');
      await waitForReply(port, '/', host, (r) => r.body.trim() === 'v4', 60_000);
      await daemon!.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('complete:'), 30_000);
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
