import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import type { ContainerEngine } from '../src/docker/engine.js';
import { containerNameFor } from '../src/reconcile/desired.js';
import { config, service } from './fixtures.js';
import { buildImage, docker, harness } from './docker-helpers.js';

test('a reload planned while a cron/image redeploy holds the service does not remove the container that redeploy put back', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('race');
  try {
    const image = buildImage(env.registry, env.baseImage, ['CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]'], { push: false });
    h.images.push(image);
    const svc = service('app', { image });
    const cfg = config([svc]);
    const name = containerNameFor(h.instance, 'app');

    // the next container start waits for the test, then fails (a new image that cannot start)
    let gate: { entered: () => void; release: Promise<void> } | undefined;
    const engine: ContainerEngine = Object.create(h.engine, {
      startContainer: {
        value: async (id: string) => {
          const g = gate;
          gate = undefined;
          if (g) {
            g.entered();
            await g.release;
            throw new Error('start failed (test)');
          }
          return h.engine.startContainer(id);
        },
      },
    });
    const o = h.make({ engine });
    const first = await o.reconcile(cfg);
    assert.deepEqual(first.outcomes.map((x) => x.ok), [true]);
    const id = (await h.inspect(name))!.Id;

    let release!: () => void;
    const entered = new Promise<void>((resolve) => {
      gate = { entered: resolve, release: new Promise<void>((r) => (release = r)) };
    });
    const redeploy = o.redeploy('app', { reason: 'cron', pull: false });
    await entered; // the old container is stopped and set aside, the new one is being started
    const reload = o.reconcile(cfg, 'reload'); // plans while the redeploy holds the service
    await new Promise((r) => setTimeout(r, 500));
    release();
    await assert.rejects(redeploy, /start failed/);
    await reload;

    const now = await h.inspect(name);
    assert.ok(now, 'the service still has its container');
    assert.equal(now.Id, id, 'the previous container, put back');
    assert.equal(now.State.Running, true);
    assert.equal(docker('ps', '-aq', '--filter', `label=dispenser.instance=${h.instance.name}`).split('\n').filter(Boolean).length, 1);
  } finally {
    h.cleanup();
  }
});

test('a reload planned while a redeploy has set the old container aside adopts the new one instead of creating a second', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('race');
  try {
    const image = buildImage(env.registry, env.baseImage, ['CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]'], { push: false });
    h.images.push(image);
    const cfg = config([service('app', { image })]);
    const name = containerNameFor(h.instance, 'app');

    // the next container create waits for the test (the old container is set aside by then)
    let gate: { entered: () => void; release: Promise<void> } | undefined;
    const engine: ContainerEngine = Object.create(h.engine, {
      createContainer: {
        value: async (spec: Parameters<ContainerEngine['createContainer']>[0]) => {
          const g = gate;
          gate = undefined;
          if (g) {
            g.entered();
            await g.release;
          }
          return h.engine.createContainer(spec);
        },
      },
    });
    const o = h.make({ engine });
    assert.deepEqual((await o.reconcile(cfg)).outcomes.map((x) => x.ok), [true]);

    let release!: () => void;
    const entered = new Promise<void>((resolve) => {
      gate = { entered: resolve, release: new Promise<void>((r) => (release = r)) };
    });
    const redeploy = o.redeploy('app', { reason: 'cron', pull: false });
    await entered;
    const reload = o.reconcile(cfg, 'reload'); // sees no container under the service's name
    await new Promise((r) => setTimeout(r, 500));
    release();
    await redeploy;
    const result = await reload;
    assert.deepEqual(
      result.outcomes.map((x) => [x.service, x.ok, x.error?.code]),
      [['app', true, undefined]],
    );
    const now = await h.inspect(name);
    assert.equal(now?.State.Running, true);
    assert.equal(docker('ps', '-aq', '--filter', `label=dispenser.instance=${h.instance.name}`).split('\n').filter(Boolean).length, 1);
  } finally {
    h.cleanup();
  }
});
