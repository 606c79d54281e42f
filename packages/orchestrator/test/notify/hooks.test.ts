/**
 * The events the CD watcher, the cron runner and the deploys tell (with the real engine:
 * notify.docker.test.ts, reload-rejected.docker.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DispenserError } from '@dispenser/shared/errors';
import { startContinuousDeployment } from '../../src/cd/continuous-deployment.js';
import { DeployEvents } from '../../src/notify/deploy-events.js';
import type { EventSink, NotifyEvent } from '../../src/notify/events.js';
import { RegistryError } from '../../src/registry/errors.js';
import { FakeDeployer } from '../helpers/fake-deployer.js';
import { config, service } from '@dispenser/shared/testing/config';
import { captureLog } from '@dispenser/shared/testing/log';
import { FakeRegistry, FakeScheduler } from '../helpers/fakes.js';

class RecordingSink implements EventSink {
  readonly events: NotifyEvent[] = [];
  emit(e: NotifyEvent): void {
    this.events.push(e);
  }
}

function setup(services: ReturnType<typeof service>[]) {
  const deployer = new FakeDeployer();
  const registry = new FakeRegistry();
  const scheduler = new FakeScheduler();
  const sink = new RecordingSink();
  const cd = startContinuousDeployment(config(services), { deployer, registry, log: captureLog().log, scheduler, events: sink });
  const fire = async (expr: string): Promise<void> => {
    scheduler.jobs.get(expr)?.onTick();
    await new Promise((r) => setImmediate(r));
  };
  return { deployer, registry, cd, fire, sink };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

test('cron-failed: a run that exits non-zero, and a run that cannot start; a run that exits 0 tells nothing', async (t) => {
  const { deployer, cd, fire, sink } = setup([service('backup', { image: 'reg.test/backup:1', dispenser: { watch: false, cron: '0 * * * *' } })]);
  t.after(() => cd.stop());
  await fire('0 * * * *');
  deployer.exit('backup', 0);
  await settle();
  assert.equal(sink.events.length, 0);

  await fire('0 * * * *');
  deployer.exit('backup', 3);
  await settle();
  assert.equal(sink.events.length, 1);
  assert.equal(sink.events[0]?.event, 'cron-failed');
  assert.equal(sink.events[0]?.service, 'backup');
  assert.match(sink.events[0]?.message ?? '', /exited with code 3/);
  assert.equal(sink.events[0]?.details?.exitCode, 3);

  deployer.failing.add('backup');
  await fire('0 * * * *');
  await settle();
  assert.equal(sink.events.length, 2);
  assert.equal(sink.events[1]?.event, 'cron-failed');
  assert.equal(sink.events[1]?.code, 'IMAGE_PULL_FAILED');
  assert.match(sink.events[1]?.message ?? '', /could not start: pull failed halfway/);
});

test('registry-auth-failed: refused credentials are told once while they stay refused; other registry failures are not', async (t) => {
  const { deployer, registry, cd, sink } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } }), service('api', { image: 'other.test/api:1', dispenser: { watch: true } })]);
  t.after(() => cd.stop());
  deployer.running.set('web', 'sha256:a').set('api', 'sha256:b');
  registry.answers.set('web', new RegistryError('REGISTRY_MANIFEST_NOT_FOUND', 'reg.test/web:1 does not exist', { scope: 'repository', status: 404 })).set('api', 'sha256:b');
  await cd.pollNow();
  assert.equal(sink.events.length, 0);
  registry.answers.set('web', new RegistryError('REGISTRY_UNAUTHORIZED', 'reg.test refused the credentials', { scope: 'repository', status: 401 }));
  await cd.pollNow();
  await cd.pollNow();
  assert.deepEqual(
    sink.events.map((e) => [e.event, e.service, e.code, e.details?.registry]),
    [['registry-auth-failed', 'web', 'REGISTRY_UNAUTHORIZED', 'reg.test']],
  );
});

test('deploy events: an error is told once; reconcile retrying the same failure tells it again only after a success', () => {
  const sink = new RecordingSink();
  const events = new DeployEvents(sink);
  const pull = new DispenserError('IMAGE_PULL_FAILED', 'manifest unknown');
  events.failed('web', pull, 'reconcile', { image: 'reg.test/web:2' });
  events.failed('web', pull, 'reload');
  events.failed('web', new DispenserError('IMAGE_PULL_FAILED', 'manifest unknown'), 'reconcile');
  events.failed('web', new DispenserError('ROLLOUT_NOT_RETRIED', 'not retrying'), 'digest');
  assert.deepEqual(sink.events.map((e) => [e.event, e.code]), [['deploy-failed', 'IMAGE_PULL_FAILED']]);
  events.failed('web', new DispenserError('DEPENDENCY_TIMEOUT', 'db not healthy'), 'reconcile');
  events.succeeded('web', 'reconcile', 'reg.test/web:2');
  events.failed('web', new DispenserError('IMAGE_PULL_FAILED', 'manifest unknown'), 'reconcile');
  events.failed('web', new DispenserError('ROLLOUT_UNHEALTHY', 'no 2xx from /health'), 'digest', { rolledBack: true });
  assert.deepEqual(
    sink.events.map((e) => [e.event, e.code]),
    [['deploy-failed', 'IMAGE_PULL_FAILED'], ['deploy-failed', 'DEPENDENCY_TIMEOUT'], ['deploy-succeeded', undefined], ['deploy-failed', 'IMAGE_PULL_FAILED'], ['deploy-rolled-back', 'ROLLOUT_UNHEALTHY']],
  );
  assert.match(sink.events[4]!.message, /^the rollout of web failed and was rolled back; the previous container keeps serving: no 2xx/);
});
