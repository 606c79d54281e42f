import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import type { ContainerEngine } from '../src/docker/engine.js';
import { containerNameFor } from '../src/reconcile/desired.js';
import { config, service } from '@dispenser/shared/testing/config';
import { docker } from '@dispenser/shared/testing/docker';
import { buildImage, harness, type Harness } from './helpers/docker.js';

/**
 * Holds the next call that passes through it until the test releases it: freezes a redeploy
 * between two engine calls so a reload can be planned in the middle.
 */
class Gate {
  private armed: { entered: () => void; release: Promise<void> } | undefined;
  private open: () => void = () => undefined;

  /** Arms the gate; resolves once a call has reached it. */
  arm(): Promise<void> {
    return new Promise((entered) => {
      this.armed = { entered, release: new Promise<void>((r) => (this.open = r)) };
    });
  }

  release(): void {
    this.open();
  }

  /** Called by the wrapped engine method: waits while armed; true when this call was held. */
  async pass(): Promise<boolean> {
    const g = this.armed;
    this.armed = undefined;
    if (!g) return false;
    g.entered();
    await g.release;
    return true;
  }
}

/** A container that stops at once on SIGTERM, built locally (not pushed). */
function sleeperImage(h: Harness, env: { registry: string; baseImage: string }): string {
  const image = buildImage(env.registry, env.baseImage, ['CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]'], { push: false });
  h.images.push(image);
  return image;
}

test('a reload planned while a cron/image redeploy holds the service does not remove the container that redeploy put back', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('race');
  try {
    const cfg = config([service('app', { image: sleeperImage(h, env) })]);
    const name = containerNameFor(h.instance, 'app');

    // the next container start waits for the test, then fails (a new image that cannot start)
    const gate = new Gate();
    const engine: ContainerEngine = Object.create(h.engine, {
      startContainer: {
        value: async (id: string) => {
          if (await gate.pass()) throw new Error('start failed (test)');
          return h.engine.startContainer(id);
        },
      },
    });
    const o = h.make({ engine });
    const first = await o.reconcile(cfg);
    assert.deepEqual(first.outcomes.map((x) => x.ok), [true]);
    const id = (await h.inspect(name))!.Id;

    const entered = gate.arm();
    const redeploy = o.redeploy('app', { reason: 'cron', pull: false });
    await entered; // the old container is stopped and set aside, the new one is being started
    const reload = o.reconcile(cfg, 'reload'); // plans while the redeploy holds the service
    await new Promise((r) => setTimeout(r, 500));
    gate.release();
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
    const cfg = config([service('app', { image: sleeperImage(h, env) })]);
    const name = containerNameFor(h.instance, 'app');

    // the next container create waits for the test (the old container is set aside by then)
    const gate = new Gate();
    const engine: ContainerEngine = Object.create(h.engine, {
      createContainer: {
        value: async (spec: Parameters<ContainerEngine['createContainer']>[0]) => {
          await gate.pass();
          return h.engine.createContainer(spec);
        },
      },
    });
    const o = h.make({ engine });
    assert.deepEqual((await o.reconcile(cfg)).outcomes.map((x) => x.ok), [true]);

    const entered = gate.arm();
    const redeploy = o.redeploy('app', { reason: 'cron', pull: false });
    await entered;
    const reload = o.reconcile(cfg, 'reload'); // sees no container under the service's name
    await new Promise((r) => setTimeout(r, 500));
    gate.release();
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
