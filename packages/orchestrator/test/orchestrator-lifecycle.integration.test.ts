import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { LABELS } from '@dispenser/shared/instance';
import { infra } from '@dispenser/shared/testing/infra';
import { captureLog } from '@dispenser/shared/testing/log';
import { down } from '../src/down.js';
import { containerNameFor } from '../src/reconcile/desired.js';
import { config, service } from '@dispenser/shared/testing/config';
import { docker } from '@dispenser/shared/testing/docker';
import { buildImage, harness, rand } from './helpers/docker.js';

const httpd = ['RUN mkdir -p /www && echo "hello from $(hostname)" > /www/index.html', 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]'];

test('lifecycle against the real engine', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('orch-life');
  const name = (s: string): string => containerNameFor(h.instance, s);
  try {
    const image = buildImage(env.registry, env.baseImage, httpd);
    h.images.push(image);

    await t.test('depends_on: a service starts only after its dependencies are healthy / completed', async () => {
      const { log, lines } = captureLog({ level: 'info' });
      const cfg = config([
        service('app', {
          image,
          command: ['sh', '-c', 'wget -q -O /www/db.txt http://db:8080/; exec httpd -f -p 8080 -h /www'],
          dependsOn: { db: 'healthy', migrate: 'completed' },
        }),
        service('db', {
          image,
          command: ['sh', '-c', 'sleep 2; touch /www/ready; exec httpd -f -p 8080 -h /www'],
          healthcheck: { test: ['CMD', 'test', '-f', '/www/ready'], intervalMs: 500, timeoutMs: 1000, retries: 10 },
        }),
        service('migrate', { image, command: ['sh', '-c', 'sleep 1; exit 0'] }),
      ]);
      const r = await h.make({ log }).reconcile(cfg);
      assert.deepEqual(r.outcomes.filter((x) => !x.ok), []);
      const app = (await h.inspect(name('app')))!;
      const migrate = (await h.inspect(name('migrate')))!;
      assert.ok(Date.parse(app.State.StartedAt) >= Date.parse(migrate.State.FinishedAt), 'app started after migrate finished');
      // db only serves after it is healthy: app fetched from it by service name at its start
      assert.match(docker('exec', name('app'), 'cat', '/www/db.txt'), /hello from/);
      assert.ok(lines.some((l) => l.service === 'app' && /waiting for db to be healthy/.test(String(l.msg))), 'says what it waits for');
    });

    await t.test('a failed pull falls back to the local image with a warning', async () => {
      const local = buildImage(env.registry, env.baseImage, httpd, { push: false });
      h.images.push(local);
      const { log, lines } = captureLog({ level: 'info' });
      const r = await h.make({ log }).reconcile(config([service('localonly', { image: local })]));
      assert.deepEqual(r.outcomes.map((o) => [o.service, o.ok]), [['localonly', true]]);
      assert.equal((await h.inspect(name('localonly')))?.State.Running, true);
      assert.ok(lines.some((l) => l.level === 40 && /using the local copy/.test(String(l.msg))));
    });

    let server: Server | undefined;
    await t.test('image missing, registry unreachable, port taken, volume path impossible: per-service errors, nothing half-created', async () => {
      server = createServer();
      await new Promise<void>((resolve) => server!.listen(0, '0.0.0.0', resolve));
      const port = (server.address() as { port: number }).port;
      const cfg = config([
        service('missing', { image: `${env.registry}/orch-test-missing-${rand()}:1` }),
        service('unreachable', { image: `127.0.0.1:1/orch-test-${rand()}:1` }),
        service('porttaken', { image, ports: [{ host: port, container: 8080 }] }),
        // a missing source is created; one under a file cannot be
        service('novolume', { image, volumes: [{ kind: 'bind', source: `/dev/null/nonexistent-${rand()}`, target: '/data', readonly: false }] }),
        service('fine', { image }),
      ]);
      const r = await h.make().reconcile(cfg);
      const codes = Object.fromEntries(r.outcomes.map((o) => [o.service, o.ok ? 'ok' : o.error?.code]));
      assert.deepEqual(codes, { missing: 'IMAGE_UNAVAILABLE', unreachable: 'IMAGE_UNAVAILABLE', porttaken: 'CONTAINER_START_FAILED', novolume: 'CONTAINER_CREATE_FAILED', fine: 'ok' });
      for (const s of ['missing', 'unreachable', 'porttaken', 'novolume']) assert.equal(await h.inspect(name(s)), undefined, `no container left for ${s}`);
      assert.equal((await h.inspect(name('fine')))?.State.Running, true);
    });
    server?.close();

    await t.test('a failed service is retried with backoff and comes up once the fault is gone', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '0.0.0.0', resolve));
      const port = (blocker.address() as { port: number }).port;
      const o = h.make({ retryBaseMs: 300, retryMaxMs: 1000 });
      const r = await o.reconcile(config([service('retry', { image, ports: [{ host: port, container: 8080 }] })]));
      assert.equal(r.outcomes[0]?.error?.code, 'CONTAINER_START_FAILED');
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      const deadline = Date.now() + 15_000;
      while (!(await h.inspect(name('retry')))?.State.Running) {
        assert.ok(Date.now() < deadline, 'the retry brought the service up');
        await new Promise((res) => setTimeout(res, 200));
      }
      o.stop();
    });

    await t.test('Deployer: on-trigger service, redeploy, exit code, running image digest', async () => {
      const o = h.make();
      const cfg = config([
        service('tick', { image, command: ['sh', '-c', 'exit 7'], dispenser: { watch: false, initialize: 'on-trigger', pull: 'always', strategy: 'recreate' } }),
        service('web', { image }),
      ]);
      const r = await o.reconcile(cfg);
      assert.deepEqual(r.actions.find((a) => a.service === 'tick')?.kind, 'await-trigger');
      assert.equal(await h.inspect(name('tick')), undefined);
      await o.redeploy('tick', { reason: 'cron', pull: true });
      assert.equal(await o.waitForExit('tick'), 7);
      assert.equal(await o.isRunning('tick'), false);

      const before = (await h.inspect(name('web')))!.Id;
      await o.redeploy('web', { reason: 'manual', pull: false });
      const after = (await h.inspect(name('web')))!;
      assert.notEqual(after.Id, before);
      assert.equal(after.State.Running, true);
      assert.equal(await h.inspect(before), undefined);
      const repoDigest = docker('image', 'inspect', '--format', '{{index .RepoDigests 0}}', image);
      assert.equal(await o.runningImageDigest('web'), repoDigest.split('@')[1]);
      await assert.rejects(o.redeploy('nope', { reason: 'manual', pull: false }), { code: 'SERVICE_UNKNOWN' });
    });

    await t.test('down removes every managed container and the created network, and nothing else', async () => {
      const bystander = docker('run', '-d', '--label', 'dispenser.test=orch', '--label', `${LABELS.instance}=${h.instance.name}`, image);
      for (const o of h.orchestrators) o.stop();
      const result = await down(h.engine, h.instance, { stopTimeoutS: 1 });
      assert.deepEqual(result.containers, [name('tick'), name('web')].sort());
      assert.deepEqual(result.networks, [h.instance.network.name]);
      assert.deepEqual(result.failures, []);
      const left = docker('ps', '-aq', '--filter', `label=${LABELS.instance}=${h.instance.name}`).split('\n').filter(Boolean);
      assert.deepEqual(left, [bystander.slice(0, 12)]);
      assert.equal(docker('network', 'ls', '-q', '--filter', `name=^${h.instance.network.name}$`), '');
    });
  } finally {
    h.cleanup();
  }
});
