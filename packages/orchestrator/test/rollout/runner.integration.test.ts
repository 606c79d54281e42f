import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ServiceConfig } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import { LABELS } from '@dispenser/shared/instance';
import { infra } from '@dispenser/shared/testing/infra';
import type { ProxyPublisher } from '../../src/contracts.js';
import type { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import { containerNameFor } from '../../src/reconcile/desired.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { config, service } from '@dispenser/shared/testing/config';
import { docker } from '@dispenser/shared/testing/docker';
import { harness, rand, TEST_LABEL } from '../helpers/docker.js';

/** An in-memory proxy: keeps every table it was sent, and what the engine looked like at that moment. */
class RecordingPublisher implements ProxyPublisher {
  tables: Array<{ routes: Route[]; containers: string[] }> = [];
  constructor(
    private readonly engine: DockerodeEngine,
    private readonly instance: string,
  ) {}
  get routes(): Route[] {
    return this.tables.at(-1)?.routes ?? [];
  }
  async publishRoutes(routes: readonly Route[]): Promise<void> {
    const containers = (await this.engine.listContainers([`${LABELS.instance}=${this.instance}`])).filter((c) => c.state === 'running').map((c) => c.name);
    this.tables.push({ routes: [...routes], containers });
  }
  async publishCerts(): Promise<void> {}
  async publishChallenges(): Promise<void> {}
}

/** Builds an httpd image answering `body` on / (and on /health unless `health` is false); pushes it as `ref`. */
function buildWeb(ref: string, base: string, body: string, opts: { health?: boolean; cmd?: string[] } = {}): void {
  const lines = [
    `FROM ${base}`,
    `LABEL ${TEST_LABEL}`,
    `RUN mkdir -p /www && echo "${body}" > /www/index.html${opts.health === false ? '' : ' && echo ok > /www/health'}`,
    `CMD ${JSON.stringify(opts.cmd ?? ['httpd', '-f', '-p', '8080', '-h', '/www'])}`,
  ];
  execFileSync('docker', ['build', '-q', '-t', ref, '-'], { input: lines.join('\n'), env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
  execFileSync('docker', ['push', '-q', ref], { stdio: ['ignore', 'ignore', 'pipe'] });
}

test('rollout against the real engine (in-memory proxy)', { timeout: 300_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('rollout');
  const publisher = new RecordingPublisher(h.engine, h.instance.name);
  const repo = `${env.registry}/rollout-test-${rand()}`;
  const live = `${repo}:live`;
  h.images.push(live, `${repo}:bad`, `${repo}:exits`);
  const cname = containerNameFor(h.instance, 'web');
  const stateDir = mkdtempSync(join(tmpdir(), 'rollout-state-'));
  const cfgOf = (services: ServiceConfig[]) => config(services, { stateDir });
  const web = (image: string, extra: Partial<ServiceConfig> = {}): ServiceConfig =>
    service('web', {
      image,
      dispenser: { watch: true, initialize: 'immediately', pull: 'on-startup', strategy: 'rollout' },
      proxy: { host: 'web.rollout.test', path: '/', servicePort: 8080, healthPath: '/health', healthIntervalMs: 250, healthTimeoutMs: 1000, deployTimeoutMs: 5000, drainTimeoutMs: 3000 },
      ...extra,
    });
  const ipOf = async (id: string): Promise<string | undefined> => (await h.inspect(id))?.NetworkSettings.Networks[h.instance.network.name]?.IPAddress;
  const rolloutLeftovers = (): string[] => docker('ps', '-a', '--format', '{{.Names}}', '--filter', `label=dispenser.instance=${h.instance.name}`).split('\n').filter((n) => /-rollout-[0-9a-f]{6}$/.test(n));
  try {
    buildWeb(live, env.baseImage, 'v1');
    const o = h.make({ publisher });
    let cfg = cfgOf([web(live)]);
    const first = await o.reconcile(cfg);
    assert.deepEqual(first.outcomes.filter((x) => !x.ok), []);
    const v1 = (await h.inspect(cname))!;
    const v1Ip = await ipOf(v1.Id);
    assert.equal(publisher.routes[0]?.upstream?.host, v1Ip);

    await t.test('a new image behind the tag (CD redeploy): routes switch to the healthy new container before the old one goes; the name moves to it', async () => {
      buildWeb(live, env.baseImage, 'v2');
      publisher.tables = [];
      await o.redeploy('web', { reason: 'digest', pull: true });
      const now = (await h.inspect(cname))!;
      assert.notEqual(now.Id, v1.Id);
      assert.equal(now.State.Running, true);
      assert.equal(await h.inspect(v1.Id), undefined, 'old container removed');
      assert.match(docker('exec', now.Id, 'cat', '/www/index.html'), /v2/);
      const newIp = await ipOf(now.Id);
      assert.equal(publisher.routes[0]?.upstream?.host, newIp);
      // the first table pointing at the new container was sent while the old one still ran
      const switched = publisher.tables.find((x) => x.routes[0]?.upstream?.host === newIp)!;
      assert.ok(switched.containers.includes(cname), 'old container still running when the proxy switched');
      // every table sent during the rollout had a route for the service
      assert.ok(publisher.tables.every((x) => x.routes.length === 1), JSON.stringify(publisher.tables));
      assert.deepEqual(rolloutLeftovers(), []);
      // the service name is still an alias on the network
      assert.ok(now.NetworkSettings.Networks[h.instance.network.name]?.Aliases?.includes('web'));
      assert.match((await o.runningImageDigest('web')) ?? '', /^sha256:/);
    });

    await t.test('a config change on reload rolls out too', async () => {
      const before = (await h.inspect(cname))!;
      cfg = cfgOf([web(live, { env: { RELEASE: '2' } })]);
      const r = await o.reconcile(cfg, 'reload');
      assert.deepEqual(r.outcomes.filter((x) => !x.ok), []);
      const now = (await h.inspect(cname))!;
      assert.notEqual(now.Id, before.Id);
      assert.ok(now.Config.Env.includes('RELEASE=2'));
      assert.equal(publisher.routes[0]?.upstream?.host, await ipOf(now.Id));
      assert.deepEqual(rolloutLeftovers(), []);
    });

    await t.test('a reload while a CD rollout is under way: the reconcile planned before it ends neither removes the new container nor fails', async () => {
      buildWeb(live, env.baseImage, 'v3');
      const redeploying = o.redeploy('web', { reason: 'digest', pull: true });
      for (let i = 0; i < 200 && rolloutLeftovers().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(rolloutLeftovers().length, 1, 'the new container exists while the reload plans');
      const r = await o.reconcile(cfg, 'reload');
      await redeploying;
      assert.deepEqual(r.outcomes.filter((x) => !x.ok), []);
      const now = (await h.inspect(cname))!;
      assert.equal(now.State.Running, true);
      assert.match(docker('exec', now.Id, 'cat', '/www/index.html'), /v3/);
      assert.deepEqual(rolloutLeftovers(), []);
      assert.equal(publisher.routes[0]?.upstream?.host, await ipOf(now.Id));
    });

    await t.test('a new image that never becomes healthy: old kept serving, new removed, failure reported, not retried by reconcile', async () => {
      const before = (await h.inspect(cname))!;
      const beforeIp = await ipOf(before.Id);
      buildWeb(`${repo}:bad`, env.baseImage, 'bad', { health: false });
      cfg = cfgOf([web(`${repo}:bad`, { env: { RELEASE: '2' } })]);
      const started = Date.now();
      const r = await o.reconcile(cfg, 'reload');
      const outcome = r.outcomes.find((x) => x.service === 'web')!;
      assert.equal(outcome.ok, false);
      assert.equal(outcome.error?.code, 'ROLLOUT_UNHEALTHY');
      assert.match(outcome.error?.message ?? '', /HTTP 404/);
      assert.ok(Date.now() - started >= 4000, 'waited for the deploy timeout');
      const now = (await h.inspect(cname))!;
      assert.equal(now.Id, before.Id, 'old container untouched');
      assert.equal(now.State.Running, true);
      assert.equal(publisher.routes[0]?.upstream?.host, beforeIp);
      assert.deepEqual(rolloutLeftovers(), []);
      assert.equal((await o.failedRollout('web'))?.code, 'ROLLOUT_UNHEALTHY');
      assert.match((await o.failedRollout('web'))?.digest ?? '', /^sha256:/);
      // the same config and image are not rolled out again by reconcile (its retry or a reload)
      const again = Date.now();
      const r2 = await o.reconcile(cfg, 'reload');
      assert.equal(r2.outcomes.find((x) => x.service === 'web')?.ok, true);
      assert.ok(Date.now() - again < 3000, 'no second rollout attempt');
      assert.equal((await h.inspect(cname))?.Id, before.Id);

      // after a restart of Dispenser (a new orchestrator, same state dir) the failure is still known
      const stored = JSON.parse(readFileSync(join(stateDir, 'rollout-failures.json'), 'utf8')) as Record<string, { code: string }>;
      assert.equal(stored.web?.code, 'ROLLOUT_UNHEALTHY');
      const restarted = h.make({ publisher });
      const r3 = await restarted.reconcile(cfg, 'startup');
      assert.equal(r3.outcomes.find((x) => x.service === 'web')?.ok, true);
      assert.equal((await h.inspect(cname))?.Id, before.Id);
      // a registry-digest trigger for that same image is refused at once; the watcher then waits for another digest
      const t0 = Date.now();
      await assert.rejects(restarted.redeploy('web', { reason: 'digest', pull: true }), { code: 'ROLLOUT_NOT_RETRIED' });
      assert.ok(Date.now() - t0 < 3000);
      assert.deepEqual(rolloutLeftovers(), []);
    });

    await t.test('a never-healthy new container that ignores SIGTERM is killed, not given the stop timeout', async () => {
      const before = (await h.inspect(cname))!;
      // its own state dir: the failure it records must not change what `o` decides later
      const ownState = mkdtempSync(join(tmpdir(), 'rollout-state-'));
      // busybox httpd as PID 1 ignores SIGTERM: a graceful stop would take the whole stop timeout
      const stopTimeoutS = 10;
      const patient = h.make({ publisher, stopTimeoutS });
      try {
        const deployTimeoutMs = 2000;
        const bad = config([web(`${repo}:bad`, { env: { RELEASE: 'patient' }, proxy: { ...web(live).proxy!, deployTimeoutMs } })], { stateDir: ownState });
        const started = Date.now();
        const r = await patient.reconcile(bad, 'reload');
        const elapsed = Date.now() - started;
        assert.equal(r.outcomes.find((x) => x.service === 'web')?.error?.code, 'ROLLOUT_UNHEALTHY');
        assert.ok(elapsed < deployTimeoutMs + stopTimeoutS * 1000, `removed without waiting for the ${stopTimeoutS} s stop timeout (${elapsed} ms in all)`);
        assert.deepEqual(rolloutLeftovers(), []);
        assert.equal((await h.inspect(cname))?.Id, before.Id);
      } finally {
        patient.stop(); // its retry timer must not act later in this test
        rmSync(ownState, { recursive: true, force: true });
      }
    });

    await t.test('a new container that exits at once: rolled back without waiting for the deploy timeout', async () => {
      const before = (await h.inspect(cname))!;
      buildWeb(`${repo}:exits`, env.baseImage, 'x', { cmd: ['sh', '-c', 'echo "fatal: missing DATABASE_URL" >&2; exit 3'] });
      // a long deploy timeout: the rollback must come from the exit, not from the timeout
      cfg = cfgOf([web(`${repo}:exits`, { proxy: { ...web(live).proxy!, deployTimeoutMs: 30_000 } })]);
      const started = Date.now();
      const r = await o.reconcile(cfg, 'reload');
      const outcome = r.outcomes.find((x) => x.service === 'web')!;
      assert.equal(outcome.error?.code, 'ROLLOUT_CONTAINER_EXITED');
      assert.match(outcome.error?.message ?? '', /code 3/);
      assert.ok(Date.now() - started < 15_000, `rolled back in ${Date.now() - started} ms`);
      assert.equal((await h.inspect(cname))?.Id, before.Id);
      assert.deepEqual(rolloutLeftovers(), []);
    });

    await t.test('a new container that exits with 3 under restart = "always": reported as exit code 3; a healthy one gets the declared policy', async () => {
      const before = (await h.inspect(cname))!;
      cfg = cfgOf([web(`${repo}:exits`, { restart: 'always', proxy: { ...web(live).proxy!, deployTimeoutMs: 30_000 } })]);
      const r = await o.reconcile(cfg, 'reload');
      const outcome = r.outcomes.find((x) => x.service === 'web')!;
      assert.equal(outcome.error?.code, 'ROLLOUT_CONTAINER_EXITED');
      assert.match(outcome.error?.message ?? '', /exited with code 3\b/);
      assert.equal((await h.inspect(cname))?.Id, before.Id);
      assert.deepEqual(rolloutLeftovers(), []);

      cfg = cfgOf([web(live, { restart: 'always', env: { RELEASE: 'always' } })]);
      assert.deepEqual((await o.reconcile(cfg, 'reload')).outcomes.filter((x) => !x.ok), []);
      const now = (await h.inspect(cname))!;
      assert.notEqual(now.Id, before.Id);
      assert.equal(now.HostConfig.RestartPolicy?.Name, 'always', 'the declared policy once promoted');
    });

    /** container lifecycle events of this instance while `fn` runs: "start <name>", "die <name>" */
    const events = async (fn: () => Promise<unknown>): Promise<string[]> => {
      const seen: string[] = [];
      const unsubscribe = await h.engine.subscribe(
        (e) => {
          if (e.attributes[LABELS.instance] === h.instance.name && (e.action === 'start' || e.action === 'die')) seen.push(`${e.action} ${e.attributes.name ?? ''}`);
        },
        () => undefined,
      );
      try {
        await fn();
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        unsubscribe();
      }
      return seen;
    };
    cfg = cfgOf([web(live, { env: { RELEASE: '3' } })]);
    await o.reconcile(cfg, 'reload');

    await t.test('without health_path: a TCP connect to service_port is the gate; the new container starts before the old one dies', async () => {
      const noPath = (extra: Partial<ServiceConfig>): ServiceConfig => {
        const s = web(live, extra);
        const { healthPath: _unused, ...proxy } = s.proxy!;
        return { ...s, proxy };
      };
      const before = (await h.inspect(cname))!;
      cfg = cfgOf([noPath({ env: { RELEASE: '4' } })]);
      const seen = await events(async () => assert.deepEqual((await o.reconcile(cfg, 'reload')).outcomes.filter((x) => !x.ok), []));
      const now = (await h.inspect(cname))!;
      assert.notEqual(now.Id, before.Id);
      const startNew = seen.findIndex((e) => e.startsWith('start ') && /-rollout-[0-9a-f]{6}$/.test(e));
      const dieOld = seen.indexOf(`die ${cname}`);
      assert.ok(startNew >= 0 && dieOld > startNew, JSON.stringify(seen));
    });

    await t.test('a Docker health check that reports unhealthy fails the rollout (health_path is not used then)', async () => {
      const before = (await h.inspect(cname))!;
      cfg = cfgOf([web(live, { env: { RELEASE: '4' }, healthcheck: { test: ['CMD', 'false'], intervalMs: 300, timeoutMs: 300, retries: 1 } })]);
      const r = await o.reconcile(cfg, 'reload');
      const outcome = r.outcomes.find((x) => x.service === 'web')!;
      assert.equal(outcome.error?.code, 'ROLLOUT_UNHEALTHY');
      // unhealthy, or still starting at the deploy timeout on a very busy machine: the Docker method decided either way
      assert.match(outcome.error?.message ?? '', /Docker health check: (unhealthy|starting)/);
      assert.equal((await h.inspect(cname))?.Id, before.Id);
      assert.deepEqual(rolloutLeftovers(), []);
      // and one that passes lets it through
      cfg = cfgOf([web(live, { env: { RELEASE: '5' }, healthcheck: { test: ['CMD', 'true'], intervalMs: 300, timeoutMs: 3000, retries: 3 } })]);
      assert.deepEqual((await o.reconcile(cfg, 'reload')).outcomes.filter((x) => !x.ok), []);
      assert.equal((await h.inspect(cname))?.State.Health?.Status, 'healthy');
    });

    await t.test('strategy "recreate" keeps the stop-then-start path for a proxied service', async () => {
      const recreate = (extra: Partial<ServiceConfig>): ServiceConfig => {
        const s = web(live, extra);
        return { ...s, dispenser: { ...s.dispenser, strategy: 'recreate' } };
      };
      cfg = cfgOf([recreate({ env: { RELEASE: '6' } })]);
      const seen = await events(async () => assert.deepEqual((await o.reconcile(cfg, 'reload')).outcomes.filter((x) => !x.ok), []));
      assert.ok(!seen.some((e) => /-rollout-[0-9a-f]{6}$/.test(e)), JSON.stringify(seen));
      const dieOld = seen.indexOf(`die ${cname}`);
      const startNew = seen.lastIndexOf(`start ${cname}`);
      assert.ok(dieOld >= 0 && startNew > dieOld, JSON.stringify(seen));
    });

    await t.test('proxy workers that never confirm the switch: routes go back to the old container, the new one is removed', async () => {
      const before = (await h.inspect(cname))!;
      const beforeIp = await ipOf(before.Id);
      // confirms everything except a table routing away from the old container
      const stuck = new RecordingPublisher(h.engine, h.instance.name);
      const confirmOnly = {
        publishRoutes: (routes: readonly Route[]) => (routes[0]?.upstream?.host === beforeIp ? stuck.publishRoutes(routes) : new Promise<void>((resolve) => void stuck.publishRoutes(routes).then(() => setTimeout(resolve, 60_000).unref()))),
        publishCerts: async () => undefined,
        publishChallenges: async () => undefined,
      };
      const o2 = h.make({ publisher: confirmOnly, publishTimeoutMs: 1000 });
      cfg = cfgOf([web(live, { env: { RELEASE: '8' } })]);
      const r = await o2.reconcile(cfg, 'reload');
      assert.equal(r.outcomes.find((x) => x.service === 'web')?.error?.code, 'ROLLOUT_ROUTES_UNCONFIRMED');
      assert.equal((await h.inspect(cname))?.Id, before.Id, 'old container untouched');
      assert.ok(stuck.tables.some((x) => x.routes[0]?.upstream?.host !== beforeIp), 'the switch was sent');
      assert.equal(stuck.routes[0]?.upstream?.host, beforeIp, 'and then reverted');
      assert.deepEqual(rolloutLeftovers(), []);
      assert.notEqual((await o2.failedRollout('web'))?.code, 'ROLLOUT_ROUTES_UNCONFIRMED', 'not an image failure: reconcile may retry');
      o2.stop();
    });

    await t.test('a Dispenser restart with a changed config rolls out as well (startup reconcile)', async () => {
      const before = (await h.inspect(cname))!;
      cfg = cfgOf([web(live, { env: { RELEASE: '7' } })]);
      const fresh = h.make({ publisher });
      const seen = await events(async () => assert.deepEqual((await fresh.reconcile(cfg, 'startup')).outcomes.filter((x) => !x.ok), []));
      const now = (await h.inspect(cname))!;
      assert.notEqual(now.Id, before.Id);
      const startNew = seen.findIndex((e) => e.startsWith('start ') && /-rollout-[0-9a-f]{6}$/.test(e));
      assert.ok(startNew >= 0 && seen.indexOf(`die ${cname}`) > startNew, JSON.stringify(seen));
      assert.equal(publisher.routes[0]?.upstream?.host, await ipOf(now.Id));
    });

    await t.test('restart after a crash that left only the new container under its rollout name: it gets the name back, no restart', async () => {
      const current = (await h.inspect(cname))!;
      const side = `${cname}-rollout-abc123`;
      docker('rename', current.Id, side);
      const r = await h.make({ publisher }).reconcile(cfg, 'startup');
      assert.deepEqual(r.actions.map((a) => a.kind), ['rename', 'adopt']);
      const now = (await h.inspect(cname))!;
      assert.equal(now.Id, current.Id);
      assert.equal(now.State.StartedAt, current.State.StartedAt);
      assert.equal(publisher.routes[0]?.upstream?.host, await ipOf(now.Id));
    });
  } finally {
    h.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
