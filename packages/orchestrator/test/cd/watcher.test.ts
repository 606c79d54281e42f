import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startContinuousDeployment } from '../../src/cd/continuous-deployment.js';
import { nextInterval } from '../../src/cd/watcher.js';
import { RegistryError } from '../../src/registry/errors.js';
import { FakeDeployer } from '../helpers/fake-deployer.js';
import { config, service } from '@dispenser/shared/testing/config';
import { FakeRegistry, FakeScheduler } from '../helpers/fakes.js';
import { captureLog } from '@dispenser/shared/testing/log';

function setup(services = [service('web', { image: 'reg.test/web:1', dispenser: { watch: true } }), service('api', { image: 'other.test/api:1', dispenser: { watch: true } })], delayMs = 60_000) {
  const deployer = new FakeDeployer();
  const registry = new FakeRegistry();
  const { log, lines, find } = captureLog();
  let clock = 1_000_000;
  const cd = startContinuousDeployment(config(services, { delayMs }), { deployer, registry, log, scheduler: new FakeScheduler(), now: () => clock, random: () => 0.5 });
  return { deployer, registry, lines, find, cd, advance: (ms: number) => (clock += ms) };
}

const unreachable = () => new RegistryError('REGISTRY_UNREACHABLE', 'cannot reach reg.test: ECONNREFUSED', { scope: 'registry' });

test('a new digest behind the tag pulls and redeploys once, logging old → new and the duration', async (t) => {
  const { deployer, registry, find, cd } = setup();
  t.after(() => cd.stop());
  deployer.running.set('web', 'sha256:old').set('api', 'sha256:api');
  registry.answers.set('web', 'sha256:old').set('api', 'sha256:api');
  await cd.pollNow();
  await cd.idle();
  assert.deepEqual(deployer.calls, []);

  registry.answers.set('web', 'sha256:new');
  deployer.registry.set('web', 'sha256:new');
  await cd.pollNow();
  await cd.idle();
  await cd.pollNow();
  await cd.idle();
  assert.deepEqual(deployer.calls, [{ service: 'web', reason: 'digest', pull: true }]);
  const [done] = find(/^redeployed/, 'web');
  assert.equal(done?.from, 'sha256:old');
  assert.equal(done?.to, 'sha256:new');
  assert.equal(typeof done?.durationMs, 'number');
});

test('a digest whose deploy failed is not retried until the registry shows another one', async (t) => {
  const { deployer, registry, find, cd } = setup();
  t.after(() => cd.stop());
  deployer.running.set('web', 'sha256:a').set('api', 'sha256:api');
  registry.answers.set('web', 'sha256:b').set('api', 'sha256:api');
  deployer.failing.add('web');
  for (let i = 0; i < 3; i++) {
    await cd.pollNow();
    await cd.idle();
  }
  assert.equal(deployer.calls.length, 1);
  assert.match(find(/redeploy failed/, 'web')[0]?.msg ?? '', /pull failed halfway.*not retried/);
  assert.equal(deployer.running.get('web'), 'sha256:a', 'the old container keeps running');

  deployer.failing.delete('web');
  registry.answers.set('web', 'sha256:c');
  deployer.registry.set('web', 'sha256:c');
  await cd.pollNow();
  await cd.idle();
  assert.equal(deployer.calls.length, 2);
  assert.equal(deployer.running.get('web'), 'sha256:c');
});

test('a failing registry backs off alone, is logged once, and recovery is logged', async (t) => {
  const { deployer, registry, find, cd, advance } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } }), service('web2', { image: 'reg.test/web2:1', dispenser: { watch: true } }), service('api', { image: 'other.test/api:1', dispenser: { watch: true } })]);
  t.after(() => cd.stop());
  deployer.running.set('api', 'sha256:api1').set('web', 'sha256:w').set('web2', 'sha256:w2');
  registry.answers.set('web', unreachable()).set('web2', unreachable()).set('api', 'sha256:api1');
  await cd.pollNow();
  registry.asked.length = 0;
  registry.answers.set('api', 'sha256:api2');
  deployer.registry.set('api', 'sha256:api2');
  advance(30_000);
  await cd.pollNow();
  await cd.idle();
  assert.deepEqual(registry.asked, ['api'], 'reg.test is skipped while backing off; other.test is polled');
  assert.deepEqual(deployer.calls.map((c) => c.service), ['api'], 'the other registry\'s service still redeploys');

  advance(31_000);
  await cd.pollNow();
  assert.ok(registry.asked.includes('web'), 'asked again once the backoff expired');
  assert.equal(find(/backing off/).length, 1, 'logged once, not every poll');
  assert.equal(find(/backing off/)[0]?.registry, 'reg.test');
  assert.deepEqual(find(/backing off/)[0]?.services, ['web', 'web2'], 'the log names the services affected');

  registry.answers.set('web', 'sha256:w').set('web2', 'sha256:w2');
  advance(200_000);
  await cd.pollNow();
  assert.equal(find(/reachable again/).length, 1);
});

test('429 waits for Retry-After before asking that registry again', async (t) => {
  const { registry, cd, advance, find, deployer } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } })], 10_000);
  t.after(() => cd.stop());
  deployer.running.set('web', 'sha256:w');
  registry.answers.set('web', new RegistryError('REGISTRY_RATE_LIMITED', 'reg.test answered 429', { scope: 'registry', status: 429, retryAfterMs: 120_000 }));
  await cd.pollNow();
  registry.answers.set('web', 'sha256:w');
  for (const step of [20_000, 50_000, 49_000]) {
    advance(step);
    await cd.pollNow();
  }
  assert.equal(registry.asked.length, 1, 'not asked before Retry-After passed');
  advance(2_000);
  await cd.pollNow();
  assert.equal(registry.asked.length, 2);
  assert.equal(find(/backing off/)[0]?.retryInMs, 120_000);
});

test('a missing tag or bad credentials is logged once per service and retried every poll', async (t) => {
  const { registry, cd, find, deployer } = setup();
  t.after(() => cd.stop());
  deployer.running.set('api', 'sha256:api');
  registry.answers.set('web', new RegistryError('REGISTRY_MANIFEST_NOT_FOUND', 'reg.test/web:1 does not exist in the registry', { scope: 'repository', status: 404 })).set('api', 'sha256:api');
  for (let i = 0; i < 3; i++) await cd.pollNow();
  assert.equal(registry.asked.filter((r) => r === 'web').length, 3);
  const warned = find(/registry check failed/, 'web');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]?.code, 'REGISTRY_MANIFEST_NOT_FOUND');
  registry.answers.set('web', new RegistryError('REGISTRY_UNAUTHORIZED', 'reg.test refused the credentials', { scope: 'repository', status: 401 }));
  await cd.pollNow();
  await cd.pollNow();
  assert.equal(find(/registry check failed/, 'web').length, 2, 'a different problem is logged again');
  assert.deepEqual(deployer.calls, []);
});

test('lookups run with bounded concurrency', async (t) => {
  const services = Array.from({ length: 40 }, (_, i) => service(`s${i}`, { image: `reg.test/s${i}:1`, dispenser: { watch: true } }));
  const deployer = new FakeDeployer();
  const registry = new FakeRegistry();
  registry.latencyMs = 5;
  for (let i = 0; i < 40; i++) {
    registry.answers.set(`s${i}`, 'sha256:x');
    deployer.running.set(`s${i}`, 'sha256:x');
  }
  const cd = startContinuousDeployment(config(services), { deployer, registry, log: captureLog().log, scheduler: new FakeScheduler(), concurrency: 4, random: () => 0.999 });
  t.after(() => cd.stop());
  await cd.pollNow();
  assert.equal(registry.asked.length, 40);
  assert.equal(registry.maxInFlight, 4);
});

test('reload adds and removes watched services; pinned digests are not watched', async (t) => {
  const { registry, cd, deployer, find } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } })]);
  t.after(() => cd.stop());
  registry.answers.set('web', 'sha256:w').set('api', 'sha256:a');
  deployer.running.set('web', 'sha256:w').set('api', 'sha256:a');
  await cd.update(config([service('api', { image: 'reg.test/api:1', dispenser: { watch: true } }), service('pinned', { image: `reg.test/p@sha256:${'1'.repeat(64)}`, dispenser: { watch: true } }), service('quiet', { image: 'reg.test/q:1', dispenser: { watch: false } })]));
  await cd.pollNow();
  assert.deepEqual(registry.asked, ['api']);
  assert.equal(find(/not watching/, 'pinned').length, 1);
});

test('the poll interval gets up to 10 % (at most 5 s) of jitter and never comes early', () => {
  assert.equal(nextInterval(60_000, 0), 60_000);
  assert.equal(nextInterval(60_000, 0.999), 64_995);
  assert.equal(nextInterval(2_000, 0.5), 2_100);
  assert.equal(nextInterval(3_600_000, 1), 3_605_000);
});

test('polls asked for while one runs queue behind it instead of overlapping', async (t) => {
  const { registry, cd, deployer } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } })]);
  t.after(() => cd.stop());
  registry.latencyMs = 20;
  registry.answers.set('web', 'sha256:w');
  deployer.running.set('web', 'sha256:w');
  await Promise.all([cd.pollNow(), cd.pollNow(), cd.pollNow()]);
  assert.equal(registry.maxInFlight, 1);
  assert.equal(registry.asked.length, 3);
});

test('the timer polls on its own every delay', async (t) => {
  const deployer = new FakeDeployer();
  const registry = new FakeRegistry();
  registry.answers.set('web', 'sha256:1');
  deployer.running.set('web', 'sha256:1');
  const cd = startContinuousDeployment(config([service('web', { image: 'reg.test/web:1', dispenser: { watch: true } })], { delayMs: 50 }), { deployer, registry, log: captureLog().log, scheduler: new FakeScheduler() });
  t.after(() => cd.stop());
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(registry.asked.length >= 3, `polled ${registry.asked.length} times in 600 ms with a 50 ms delay`);
  await cd.stop();
  const n = registry.asked.length;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(registry.asked.length, n, 'no poll after stop()');
});
