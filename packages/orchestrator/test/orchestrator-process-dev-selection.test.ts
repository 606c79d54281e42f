import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadOptions } from '@dispenser/shared/config/load';
import { createLogger } from '@dispenser/shared/log';
import { instanceFromEnv } from '@dispenser/shared/instance';
import type { ContainerEngine } from '../src/docker/engine.js';
import { runOrchestratorProcess } from '../src/orchestrator-process.js';
import { config } from '@dispenser/shared/testing/config';

/** Enough of an engine for a reconcile of nothing. */
const idleEngine = {
  inspectNetwork: async () => ({ Name: 'x', Id: 'x', Labels: {} }),
  listContainers: async () => [],
  inspectContainer: async () => undefined,
  subscribe: async () => () => undefined,
} as unknown as ContainerEngine;

async function start(only: readonly string[] | undefined): Promise<{ loads: LoadOptions[]; dev: boolean | undefined }> {
  const log = createLogger('orchestrator');
  log.level = 'silent';
  const loads: LoadOptions[] = [];
  let dev: boolean | undefined;
  const proc = await runOrchestratorProcess({
    configFile: '/x/dispenser.toml',
    ...(only ? { only } : {}),
    load: async (_file, options) => {
      loads.push(options);
      return { ok: true, config: config([]) };
    },
    engine: idleEngine,
    channel: undefined,
    log,
    exit: () => undefined,
    createComponents: (ctx) => {
      dev = ctx.dev;
      return [];
    },
    orchestratorOptions: { instance: instanceFromEnv({ DISPENSER_INSTANCE: 'devsel' }), retryBaseMs: 60_000 },
  });
  await proc?.drain();
  return { loads, dev };
}

test('dispenser dev without -s: dev mode (self-signed certificates) with every service loaded', async () => {
  assert.deepEqual(await start([]), { loads: [{}], dev: true });
  assert.deepEqual(await start(['web']), { loads: [{ only: ['web'] }], dev: true });
  assert.deepEqual(await start(undefined), { loads: [{}], dev: false });
});
