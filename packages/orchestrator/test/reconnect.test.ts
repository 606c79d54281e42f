import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import { instanceFromEnv } from '@dispenser/shared/instance';
import type { ContainerEngine } from '../src/docker/engine.js';
import { daemonUnavailable } from '../src/docker/errors.js';
import { Orchestrator } from '../src/orchestrator.js';
import { config } from './fixtures.js';
import { MemoryPublisher } from './docker-helpers.js';

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
