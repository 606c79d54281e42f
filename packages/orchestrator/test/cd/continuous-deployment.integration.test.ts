import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infra } from '@dispenser/shared/testing/infra';
import { startContinuousDeployment } from '../../src/cd/continuous-deployment.js';
import { RegistryClient } from '../../src/registry/client.js';
import { DockerCliDeployer } from '../helpers/docker-cli-deployer.js';
import { config, service } from '@dispenser/shared/testing/config';
import { randomName } from '@dispenser/shared/testing/docker';
import { ImagePusher } from '../helpers/images.js';
import { captureLog } from '@dispenser/shared/testing/log';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';

let registry: TestRegistry | undefined;
const pusher = new ImagePusher();
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  if (!infra({ skip() {} }, 'docker')) return;
  registry = await startRegistry();
  cleanups.push(() => registry?.stop() ?? Promise.resolve(), () => pusher.cleanup());
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

test('a push under the same tag is redeployed within delay plus a few seconds; nothing is pulled while it is unchanged', async (t) => {
  if (!infra(t, 'docker') || !registry) return;
  const image = `${registry.host}/${randomName('web')}:latest`;
  const v1 = await pusher.push(image, { cmd: ['sleep', '3600'] });
  const deployer = new DockerCliDeployer(new Map([['web', { image }]]), randomName('cd-watch'));
  t.after(() => deployer.cleanup());
  await deployer.redeploy('web', { reason: 'startup', pull: true });
  assert.equal(await deployer.runningImageDigest('web'), v1);

  const delayMs = 2_000;
  const { log, find } = captureLog();
  const mark = (await registry.access()).length;
  // No registry given: the production client with the Docker credentials of this user.
  const cd = startContinuousDeployment(config([service('web', { image, dispenser: { watch: true } })], { delayMs }), { deployer, log });
  t.after(() => cd.stop());

  await new Promise((r) => setTimeout(r, 2 * delayMs + 500));
  const quiet = (await registry.access()).slice(mark);
  assert.ok(quiet.filter((l) => l.method === 'HEAD').length >= 2, `polled at least twice: ${JSON.stringify(quiet)}`);
  assert.deepEqual(quiet.filter((l) => l.method !== 'HEAD'), [], 'no manifest GET and no blob fetch while the digest is unchanged');
  assert.equal(deployer.deploys.length, 1, 'no redeploy while unchanged');

  const v2 = await pusher.push(image, { cmd: ['sleep', '3600'] });
  const pushed = Date.now();
  // Noticing the push is CD's job (one delay plus jitter); how long the pull and restart take is the engine's.
  const took = await until('the new image to run', delayMs + 10_000, async () => (await deployer.runningImageDigest('web')) === v2);
  const noticed = (deployer.deploys[1]?.at ?? Infinity) - pushed;
  assert.ok(noticed <= delayMs + 2_000, `redeploy started ${noticed} ms after the push`);
  assert.ok(took <= delayMs + 8_000, `new image running ${took} ms after the push`);
  assert.deepEqual(deployer.deploys.slice(1).map((d) => [d.reason, d.pull]), [['digest', true]]);
  await cd.idle();
  const [done] = find(/^redeployed/, 'web');
  assert.equal(done?.from, v1);
  assert.equal(done?.to, v2);
  assert.ok(await deployer.isRunning('web'));
});

test('a tag deleted from the registry is logged once and the running container stays up', async (t) => {
  if (!infra(t, 'docker') || !registry) return;
  const image = `${registry.host}/${randomName('gone')}:v1`;
  const digest = await pusher.push(image, { cmd: ['sleep', '3600'] });
  const deployer = new DockerCliDeployer(new Map([['gone', { image }]]), randomName('cd-gone'));
  t.after(() => deployer.cleanup());
  await deployer.redeploy('gone', { reason: 'startup', pull: true });
  const repo = image.slice(registry.host.length + 1).replace(/:v1$/, '');
  const del = await fetch(`http://${registry.host}/v2/${repo}/manifests/${digest}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  const { log, find } = captureLog();
  const client = new RegistryClient();
  const cd = startContinuousDeployment(config([service('gone', { image, dispenser: { watch: true } })], { delayMs: 60_000 }), { deployer, registry: client, log });
  t.after(async () => {
    await cd.stop();
    await client.close();
  });
  await cd.pollNow();
  await cd.pollNow();
  const warned = find(/registry check failed/, 'gone');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]?.code, 'REGISTRY_MANIFEST_NOT_FOUND');
  assert.ok(await deployer.isRunning('gone'));
  assert.equal(deployer.deploys.length, 1);
});

test('a registry outage is logged once, the container stays up, and watching resumes when it is back', async (t) => {
  if (!infra(t, 'docker')) return;
  const own = await startRegistry();
  t.after(() => own.stop());
  const image = `${own.host}/${randomName('outage')}:latest`;
  const v1 = await pusher.push(image, { cmd: ['sleep', '3600'] });
  const deployer = new DockerCliDeployer(new Map([['app', { image }]]), randomName('cd-outage'));
  t.after(() => deployer.cleanup());
  await deployer.redeploy('app', { reason: 'startup', pull: true });
  const { log, find } = captureLog();
  const cd = startContinuousDeployment(config([service('app', { image, dispenser: { watch: true } })], { delayMs: 500 }), { deployer, log });
  t.after(() => cd.stop());
  await until('a first poll', 5_000, async () => (await own.access()).some((l) => l.method === 'HEAD'));

  await own.down();
  await until('the outage to be noticed', 5_000, async () => find(/backing off/).length > 0);
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(find(/backing off/).length, 1, 'logged once for the whole outage');
  assert.equal(find(/backing off/)[0]?.code, 'REGISTRY_UNREACHABLE');
  assert.ok(await deployer.isRunning('app'), 'the container stays up');
  assert.equal(await deployer.runningImageDigest('app'), v1);

  await own.up();
  await until('recovery to be logged', 10_000, async () => find(/reachable again/).length > 0);
  const v2 = await pusher.push(image, { cmd: ['sleep', '3600'] });
  await until('the new image to run', 15_000, async () => (await deployer.runningImageDigest('app')) === v2);
  assert.deepEqual(deployer.deploys.map((d) => d.reason), ['startup', 'digest']);
});

test('cron every 2 s runs the job, which writes to a mounted volume; a tick during a run is skipped', async (t) => {
  if (!infra(t, 'docker') || !registry) return;
  const image = `${registry.host}/${randomName('job')}:latest`;
  await pusher.push(image);
  const data = await mkdtemp(join(tmpdir(), 'cd-cron-'));
  t.after(() => rm(data, { recursive: true, force: true }));
  // Each run takes 3 s, the schedule fires every 2 s: every other tick finds the run still going.
  const cmd = ['sh', '-c', 'date +%s >> /data/runs; sleep 3'];
  const deployer = new DockerCliDeployer(new Map([['job', { image, binds: { [data]: '/data' }, cmd }]]), randomName('cd-cron'));
  t.after(() => deployer.cleanup());
  const { log, find } = captureLog();
  const cd = startContinuousDeployment(config([service('job', { image, dispenser: { watch: false, cron: '*/2 * * * * *', pull: 'always' } })]), { deployer, log });
  t.after(() => cd.stop());
  assert.ok(find(/cron scheduled/, 'job')[0]?.nextRun, 'the next run is logged at start');

  await until('two finished runs', 15_000, async () => find(/cron run finished/, 'job').length >= 2);
  await cd.stop();
  const runs = (await readFile(join(data, 'runs'), 'utf8')).trim().split('\n').map(Number);
  assert.ok(runs.length >= 2, `runs: ${runs.join(',')}`);
  for (let i = 1; i < runs.length; i++) assert.ok((runs[i] as number) - (runs[i - 1] as number) >= 3, `runs never overlap: ${runs.join(',')}`);
  assert.ok(find(/skipped: the previous run is still going/, 'job').length >= 1, 'overlapping tick skipped and logged');
  const finished = find(/cron run finished/, 'job');
  assert.equal(finished[0]?.exitCode, 0);
  assert.ok((finished[0]?.durationMs as number) >= 3_000);
  assert.ok(find(/next cron run/, 'job').length >= 2, 'next run logged after each run');
  assert.ok(deployer.deploys.every((d) => d.reason === 'cron' && d.pull), 'pull = "always" pulls on each tick');
});
