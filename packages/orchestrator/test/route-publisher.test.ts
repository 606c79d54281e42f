import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import { instanceFromEnv } from '@dispenser/shared/instance';
import type { ContainerEngine } from '../src/docker/engine.js';
import { Orchestrator } from '../src/orchestrator.js';
import { config } from '@dispenser/shared/testing/config';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';

test('confirmed route publishes leave no timer or abort listener behind (busy cron schedules publish every few seconds)', async () => {
  const engine: Partial<ContainerEngine> = {
    inspectNetwork: async () => ({}) as never,
    listContainers: async () => [],
    inspectContainer: async () => undefined,
  };
  const log = createLogger('orchestrator');
  log.level = 'silent';
  const o = new Orchestrator({ engine: engine as ContainerEngine, publisher: new MemoryPublisher(), log, instance: instanceFromEnv({ DISPENSER_INSTANCE: 'fake' }) });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const r = await o.reconcile(config([]));
    assert.equal(r.error, undefined);
    for (let i = 0; i < 30; i++) await o.publishRoutes();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
    o.stop();
  }
});
