import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import { instanceFromEnv, LABELS } from '@dispenser/shared/instance';
import type { ContainerEngine, EngineEvent } from '../src/docker/engine.js';
import { daemonUnavailable } from '../src/docker/errors.js';
import { Orchestrator } from '../src/orchestrator.js';
import { config, service } from '@dispenser/shared/testing/config';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';

/** An engine that is "down" until told otherwise and whose event stream can be cut. */
function flakyEngine() {
  const state = { up: false, reconciles: 0, cut: undefined as undefined | ((e?: Error) => void) };
  const guard = async <T>(v: T): Promise<T> => {
    if (!state.up) throw daemonUnavailable(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }));
    return v;
  };
  const engine: Partial<ContainerEngine> = {
    inspectNetwork: () => guard({} as never),
    listContainers: async () => {
      await guard(undefined);
      state.reconciles++;
      return [];
    },
    inspectContainer: () => guard(undefined),
    subscribe: async (_onEvent, onEnd) => {
      await guard(undefined);
      state.cut = onEnd;
      return () => undefined;
    },
  };
  return { engine: engine as ContainerEngine, state };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('daemon down at start: reconcile reports DOCKER_UNAVAILABLE without throwing, and reconciles once the daemon is back and again after it restarts', async () => {
  const { engine, state } = flakyEngine();
  const log = createLogger('orchestrator');
  log.level = 'silent';
  const o = new Orchestrator({ engine, publisher: new MemoryPublisher(), log, instance: instanceFromEnv({ DISPENSER_INSTANCE: 'fake' }), retryBaseMs: 60_000 });
  try {
    const r = await o.reconcile(config([]));
    assert.equal(r.error?.code, 'DOCKER_UNAVAILABLE');
    void o.watchEngine();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(state.reconciles, 0);
    state.up = true;
    await until(() => state.reconciles === 1);
    // dockerd restarts: the event stream ends, the daemon is briefly away, then back
    state.up = false;
    state.cut?.(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await new Promise((r) => setTimeout(r, 300));
    state.up = true;
    await until(() => state.reconciles === 2);
  } finally {
    o.stop();
  }
});

test('the engine goes away with a proxied container: its route turns to 503 (upstream null) at once, from what was known', async () => {
  const instance = instanceFromEnv({ DISPENSER_INSTANCE: 'fake-engine-loss' });
  const labels = { [LABELS.managed]: 'true', [LABELS.instance]: instance.name, [LABELS.service]: 'web' };
  const running = { Id: 'c0ffee', State: { Running: true }, Config: { Labels: labels }, NetworkSettings: { Networks: { [instance.network.name]: { IPAddress: '172.28.0.9' } } } };
  const state = { up: true, onEvent: undefined as undefined | ((e: EngineEvent) => void) };
  const engine: Partial<ContainerEngine> = {
    inspectContainer: async () => {
      if (!state.up) throw daemonUnavailable(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }));
      return running as never;
    },
    subscribe: async (onEvent) => {
      state.onEvent = onEvent;
      return () => undefined;
    },
  };
  const publisher = new MemoryPublisher();
  const log = createLogger('orchestrator');
  log.level = 'silent';
  const o = new Orchestrator({ engine: engine as ContainerEngine, publisher, log, instance, retryBaseMs: 60_000 });
  try {
    const web = service('web', { proxy: { host: 'web.test', path: '/', servicePort: 80, healthIntervalMs: 1000, healthTimeoutMs: 1000, deployTimeoutMs: 1000, drainTimeoutMs: 1000 } });
    // the config without a reconcile (it would need the whole engine): routes only
    await o.publishInitialRoutes(config([web]));
    await o.publishRoutes();
    assert.deepEqual(publisher.routes.map((r) => r.upstream), [{ host: '172.28.0.9', port: 80 }]);
    void o.watchEngine();
    await until(() => state.onEvent !== undefined);
    // the engine stops: the container dies, then the engine no longer answers
    state.up = false;
    state.onEvent!({ type: 'container', action: 'die', id: 'c0ffee', attributes: { ...labels, exitCode: '143' } });
    await until(() => publisher.routes[0]?.upstream === null);
    assert.equal(publisher.routes[0]!.host, 'web.test', 'still declared: 503, not 404');
  } finally {
    o.stop();
  }
});
