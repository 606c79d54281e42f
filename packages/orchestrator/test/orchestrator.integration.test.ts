import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '@dispenser/shared/instance';
import { infra } from '@dispenser/shared/testing/infra';
import { containerNameFor } from '../src/reconcile/desired.js';
import { config, service } from '@dispenser/shared/testing/config';
import { docker } from '@dispenser/shared/testing/docker';
import { TEST_LABEL, buildImage, harness, rand } from './helpers/docker.js';

const proxy = (host: string) => ({ host, path: '/', servicePort: 8080, healthIntervalMs: 1000, healthTimeoutMs: 1000, deployTimeoutMs: 10_000, drainTimeoutMs: 1000 });
const httpd = ['RUN mkdir -p /www && echo "hello from $(hostname)" > /www/index.html', 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]'];

test('orchestrator against the real engine', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('orch');
  const volDir = mkdtempSync(join(tmpdir(), 'orch-vol-'));
  writeFileSync(join(volDir, 'file.txt'), 'from the host\n');
  const namedVolume = `orch-test-${rand()}`;
  const declaredNet = `orch-test-net-${rand()}`;
  try {
    const image = buildImage(env.registry, env.baseImage, httpd);
    h.images.push(image);
    const name = (s: string): string => containerNameFor(h.instance, s);

    const web = service('web', {
      image,
      entrypoint: ['httpd'],
      command: ['-f', '-p', '8080', '-h', '/www'],
      workingDir: '/www',
      user: '0:0',
      hostname: 'web-host',
      memoryBytes: 64 * 1024 * 1024,
      nanoCpus: 500_000_000,
      restart: 'unless-stopped',
      volumes: [
        { kind: 'bind', source: volDir, target: '/data', readonly: true },
        { kind: 'volume', source: namedVolume, target: '/cache', readonly: false },
        // missing: created before the container, as `docker run -v` would
        { kind: 'bind', source: join(volDir, 'made', 'here'), target: '/made', readonly: false },
      ],
      env: { GREETING: 'hi', MODE: 'test' },
      networks: [declaredNet],
      extraHosts: [{ hostname: 'db.internal', ipv4: '10.1.2.3' }],
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'], intervalMs: 1000, timeoutMs: 1000, startPeriodMs: 500, retries: 3 },
      proxy: proxy('Web.Example.Test'),
    });
    const cfg = config([web, service('other', { image })], {
      networks: [{ name: declaredNet, driver: 'bridge', external: false, internal: false, attachable: true, labels: { team: 'orch' } }],
    });

    let webId = '';
    await t.test('every field is mapped onto the container', async () => {
      const o = h.make();
      const r = await o.reconcile(cfg);
      assert.deepEqual(r.outcomes.filter((x) => !x.ok), []);
      const i = (await h.inspect(name('web')))!;
      webId = i.Id;
      assert.equal(i.State.Running, true);
      assert.equal(i.Config.Image, image);
      assert.deepEqual(i.Config.Entrypoint, ['httpd']);
      assert.deepEqual(i.Config.Cmd, ['-f', '-p', '8080', '-h', '/www']);
      assert.equal(i.Config.WorkingDir, '/www');
      assert.equal(i.Config.User, '0:0');
      assert.equal(i.Config.Hostname, 'web-host');
      assert.ok(i.Config.Env.includes('GREETING=hi') && i.Config.Env.includes('MODE=test'));
      assert.equal(i.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(i.HostConfig.NanoCpus, 500_000_000);
      assert.equal(i.HostConfig.RestartPolicy?.Name, 'unless-stopped');
      assert.deepEqual(i.HostConfig.ExtraHosts, ['host.docker.internal:host-gateway', 'db.internal:10.1.2.3']);
      assert.match(docker('exec', name('web'), 'cat', '/etc/hosts'), /^\d+\.\d+\.\d+\.\d+\s+host\.docker\.internal$/m);
      const mounts = i.Mounts.map((m) => [m.Type, m.Type === 'volume' ? m.Name : m.Source, m.Destination, m.RW]);
      assert.deepEqual(mounts.sort(), [['bind', volDir, '/data', false], ['volume', namedVolume, '/cache', true], ['bind', join(volDir, 'made', 'here'), '/made', true]].sort());
      assert.ok(statSync(join(volDir, 'made', 'here')).isDirectory(), 'the missing bind source was created as a directory');
      const hc = (i.Config as unknown as { Healthcheck: { Test: string[]; Interval: number; Retries: number } }).Healthcheck;
      assert.deepEqual(hc.Test, ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/']);
      assert.equal(hc.Interval, 1e9);
      assert.equal(hc.Retries, 3);
      assert.equal(i.Config.Labels[LABELS.managed], 'true');
      assert.equal(i.Config.Labels[LABELS.service], 'web');
      assert.equal(i.Config.Labels[LABELS.instance], h.instance.name);
      assert.match(i.Config.Labels[LABELS.configHash] ?? '', /^[0-9a-f]{32}$/);
      // both networks, with the service name as alias on each
      const nets = i.NetworkSettings.Networks;
      assert.deepEqual(Object.keys(nets).sort(), [declaredNet, h.instance.network.name].sort());
      for (const n of Object.values(nets)) assert.ok(n.Aliases?.includes('web'), 'alias web on every network');
      assert.equal(docker('exec', name('web'), 'cat', '/data/file.txt'), 'from the host');
      // the declared network was created with its settings and ownership labels
      const net = JSON.parse(docker('network', 'inspect', declaredNet))[0];
      assert.equal(net.Labels.team, 'orch');
      assert.equal(net.Labels[LABELS.instance], h.instance.name);
      // route: the container's address on the instance network
      assert.deepEqual(h.publisher.routes, [{ service: 'web', host: 'web.example.test', path: '/', upstream: { host: nets[h.instance.network.name]!.IPAddress, port: 8080 } }]);
      // services resolve each other by service name
      assert.match(docker('exec', name('other'), 'wget', '-q', '-O', '-', 'http://web:8080/'), /hello from/);
    });

    await t.test('a new orchestrator adopts the unchanged container without restarting it', async () => {
      const before = (await h.inspect(name('web')))!;
      const r = await h.make().reconcile(cfg);
      assert.deepEqual(r.actions.map((a) => a.kind).sort(), ['adopt', 'adopt']);
      const after = (await h.inspect(name('web')))!;
      assert.equal(after.Id, webId);
      assert.equal(after.State.StartedAt, before.State.StartedAt);
    });

    await t.test('a config change recreates the container', async () => {
      const changed = config([{ ...web, env: { ...web.env, MODE: 'changed' } }, service('other', { image })], { networks: cfg.networks });
      const r = await h.make().reconcile(changed, 'reload');
      assert.deepEqual(r.outcomes.filter((x) => !x.ok), []);
      const i = (await h.inspect(name('web')))!;
      assert.notEqual(i.Id, webId);
      assert.ok(i.Config.Env.includes('MODE=changed'));
      assert.equal(await h.inspect(webId), undefined, 'the old container is gone');
    });

    await t.test('a service removed from the config loses its container', async () => {
      const r = await h.make().reconcile(config([service('other', { image })]), 'reload');
      assert.ok(r.actions.some((a) => a.kind === 'remove'));
      assert.equal(await h.inspect(name('web')), undefined);
      assert.equal((await h.inspect(name('other')))?.State.Running, true);
      assert.deepEqual(h.publisher.routes, []);
    });

    await t.test('a same-name container Dispenser does not manage is reported and left alone', async () => {
      const foreignId = docker('run', '-d', '--name', name('squatter'), '--label', 'dispenser.test=orch', '--label', `dispenser.instance=${h.instance.name}`, image);
      const r = await h.make().reconcile(config([service('squatter', { image }), service('other', { image })]), 'reload');
      const squatter = r.outcomes.find((x) => x.service === 'squatter')!;
      assert.equal(squatter.ok, false);
      assert.equal(squatter.error?.code, 'CONTAINER_NAME_CONFLICT');
      assert.equal((await h.inspect(name('squatter')))?.Id, foreignId);
      assert.equal(r.outcomes.find((x) => x.service === 'other')?.ok, true, 'the other service proceeds');
      docker('rm', '-f', foreignId);
    });

    await t.test("a container the original Dispenser left (no labels of ours, on its dispenser network) is replaced", async () => {
      // the original attached every container to a network called dispenser
      let createdNetwork = false;
      try {
        docker('network', 'inspect', 'dispenser');
      } catch {
        docker('network', 'create', '--label', TEST_LABEL, 'dispenser');
        createdNetwork = true;
      }
      try {
        const originalId = docker('run', '-d', '--name', name('legacy'), '--network', 'dispenser', '--label', TEST_LABEL, '--label', `dispenser.instance=${h.instance.name}`, image);
        const r = await h.make().reconcile(config([service('legacy', { image }), service('other', { image })]), 'startup');
        const legacy = r.outcomes.find((x) => x.service === 'legacy')!;
        assert.equal(legacy.action, 'takeover');
        assert.equal(legacy.ok, true, legacy.error?.message);
        const now = await h.inspect(name('legacy'));
        assert.notEqual(now?.Id, originalId, 'replaced');
        assert.equal(now?.Config.Labels?.['dispenser.managed'], 'true');
        assert.equal(now?.State.Running, true);
        assert.equal(await h.inspect(originalId), undefined, "the original's container is gone");
      } finally {
        if (createdNetwork) {
          try {
            docker('network', 'rm', 'dispenser');
          } catch {
            // still in use by another test's container
          }
        }
      }
    });
  } finally {
    h.cleanup();
    try {
      docker('volume', 'rm', '-f', namedVolume);
    } catch {
      // never created
    }
    rmSync(volDir, { recursive: true, force: true });
  }
});
