import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startContinuousDeployment } from '../../src/cd/continuous-deployment.js';
import { FakeDeployer } from '../helpers/fake-deployer.js';
import { config, service } from '@dispenser/shared/testing/config';
import { FakeRegistry, FakeScheduler } from '../helpers/fakes.js';
import { captureLog } from '@dispenser/shared/testing/log';

function setup(services: ReturnType<typeof service>[]) {
  const deployer = new FakeDeployer();
  const scheduler = new FakeScheduler();
  const capture = captureLog();
  const runs: Array<{ service: string; exitCode: number; durationMs: number }> = [];
  const jobRuns = { jobRun: (svc: string, run: { exitCode: number; durationMs: number }) => Promise.resolve(void runs.push({ service: svc, ...run })) };
  const cd = startContinuousDeployment(config(services), { deployer, jobRuns, registry: new FakeRegistry(), log: capture.log, scheduler });
  const fire = async (expr: string): Promise<void> => {
    scheduler.jobs.get(expr)?.onTick();
    await new Promise((r) => setImmediate(r));
  };
  return { deployer, scheduler, cd, fire, runs, ...capture };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

test('a cron tick recreates the job, waits for its exit, and logs exit code, duration and the next run', async (t) => {
  const { deployer, cd, fire, find } = setup([service('backup', { image: 'reg.test/backup:1', dispenser: { watch: false, cron: '*/2 * * * * *', pull: 'always' } })]);
  t.after(() => cd.stop());
  assert.equal(find(/cron scheduled/, 'backup')[0]?.nextRun, '2030-01-01T00:00:00.000Z');
  await fire('*/2 * * * * *');
  assert.deepEqual(deployer.calls, [{ service: 'backup', reason: 'cron', pull: true }]);
  deployer.exit('backup', 3);
  await settle();
  const [finished] = find(/exited with code 3/, 'backup');
  assert.equal(finished?.exitCode, 3);
  assert.equal(typeof finished?.durationMs, 'number');
  assert.equal(find(/next cron run/, 'backup').length, 1);
});

test('an ended run of a batch job is recorded for `dispenser history` with its exit code; a restarted service is not', async (t) => {
  const { deployer, cd, fire, runs } = setup([
    service('backup', { image: 'reg.test/backup:1', dispenser: { watch: false, cron: '*/2 * * * * *' } }),
    service('web', { image: 'reg.test/web:1', dispenser: { watch: true, cron: '*/5 * * * * *' } }),
  ]);
  t.after(() => cd.stop());
  await fire('*/2 * * * * *');
  await fire('*/5 * * * * *');
  deployer.exit('backup', 3);
  await settle();
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.service, 'backup');
  assert.equal(runs[0]?.exitCode, 3);
  assert.equal(typeof runs[0]?.durationMs, 'number');
});

test('pull = "on-startup" does not pull on a tick', async (t) => {
  const { deployer, cd, fire } = setup([service('job', { image: 'reg.test/job:1', dispenser: { watch: false, cron: '0 * * * *' } })]);
  t.after(() => cd.stop());
  await fire('0 * * * *');
  assert.deepEqual(deployer.calls, [{ service: 'job', reason: 'cron', pull: false }]);
});

test('a tick while the previous run is still going is skipped and logged', async (t) => {
  const { deployer, cd, fire, find } = setup([service('job', { image: 'reg.test/job:1', dispenser: { watch: false, cron: '* * * * *' } })]);
  t.after(() => cd.stop());
  await fire('* * * * *');
  await fire('* * * * *');
  await fire('* * * * *');
  assert.equal(deployer.calls.length, 1);
  assert.equal(find(/skipped: the previous run is still going/, 'job').length, 2);
  deployer.exit('job', 0);
  await settle();
  assert.equal(find(/cron run finished/, 'job')[0]?.exitCode, 0);
  await fire('* * * * *');
  assert.equal(deployer.calls.length, 2, 'the next tick after the exit runs');
});

test('a container still running from before Dispenser restarted counts as the previous run', async (t) => {
  const { deployer, cd, fire, find } = setup([service('job', { image: 'reg.test/job:1', dispenser: { watch: false, cron: '* * * * *' } })]);
  t.after(() => cd.stop());
  deployer.alive.add('job');
  await fire('* * * * *');
  assert.equal(deployer.calls.length, 0);
  assert.equal(find(/skipped/, 'job').length, 1);
});

test('cron on a watched long-running service restarts it on every tick', async (t) => {
  const { deployer, cd, fire, find } = setup([service('web', { image: 'reg.test/web:1', dispenser: { watch: true, cron: '0 4 * * *' } })]);
  t.after(() => cd.stop());
  deployer.alive.add('web');
  await fire('0 4 * * *');
  await settle();
  await fire('0 4 * * *');
  await settle();
  assert.equal(deployer.calls.length, 2);
  assert.equal(find(/service restarted/, 'web').length, 2);
});

test('a failed start is logged and the schedule goes on', async (t) => {
  const { deployer, cd, fire, find } = setup([service('job', { image: 'reg.test/job:1', dispenser: { watch: false, cron: '* * * * *' } })]);
  t.after(() => cd.stop());
  deployer.failing.add('job');
  await fire('* * * * *');
  await settle();
  assert.equal(find(/could not start/, 'job')[0]?.code, 'IMAGE_PULL_FAILED');
  deployer.failing.delete('job');
  await fire('* * * * *');
  assert.equal(deployer.calls.length, 2);
});

test('reload reschedules changed expressions, drops removed jobs, and a bad expression does not stop the others', async (t) => {
  const { scheduler, cd, find } = setup([service('a', { image: 'r.test/a:1', dispenser: { watch: false, cron: '0 * * * *' } }), service('b', { image: 'r.test/b:1', dispenser: { watch: false, cron: '5 * * * *' } })]);
  t.after(() => cd.stop());
  assert.deepEqual(scheduler.active().sort(), ['0 * * * *', '5 * * * *']);
  await cd.update(config([service('a', { image: 'r.test/a:1', dispenser: { watch: false, cron: '30 * * * *' } }), service('c', { image: 'r.test/c:1', dispenser: { watch: false, cron: 'bad' } }), service('d', { image: 'r.test/d:1', dispenser: { watch: false, cron: '1 1 * * *' } })]));
  assert.deepEqual(scheduler.active().sort(), ['1 1 * * *', '30 * * * *']);
  assert.equal(find(/cannot schedule/, 'c')[0]?.code, 'CRON_INVALID');
  assert.equal(find(/cron schedule removed/, 'b').length, 1);
  await cd.stop();
  assert.deepEqual(scheduler.active(), []);
});

test('a cron tick while the watcher is redeploying the same service is skipped, and stop() waits for that redeploy', async (t) => {
  const deployer = new FakeDeployer();
  const registry = new FakeRegistry();
  const scheduler = new FakeScheduler();
  const { log, find } = captureLog();
  const cd = startContinuousDeployment(config([service('web', { image: 'reg.test/web:1', dispenser: { watch: true, cron: '0 4 * * *' } })]), { deployer, registry, log, scheduler });
  t.after(() => cd.stop());
  deployer.running.set('web', 'sha256:a');
  registry.answers.set('web', 'sha256:b');
  deployer.registry.set('web', 'sha256:b');
  let release = (): void => {};
  deployer.hold = new Promise((r) => (release = r));
  await cd.pollNow();
  scheduler.jobs.get('0 4 * * *')?.onTick();
  await new Promise((r) => setImmediate(r));
  assert.equal(find(/skipped: the previous restart is still in progress/, 'web').length, 1);
  let stopped = false;
  const stopping = cd.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(stopped, false, 'stop() waits for the redeploy in flight');
  release();
  await stopping;
  assert.deepEqual(deployer.calls.map((c) => c.reason), ['digest']);
  assert.equal(deployer.running.get('web'), 'sha256:b');
});

test('a run whose container is gone does not block the next tick, even if its exit was never reported', async (t) => {
  const { deployer, cd, fire } = setup([service('job', { image: 'reg.test/job:1', dispenser: { watch: false, cron: '* * * * *' } })]);
  t.after(() => cd.stop());
  await fire('* * * * *');
  deployer.alive.delete('job'); // gone, but waitForExit never resolves
  await fire('* * * * *');
  assert.equal(deployer.calls.length, 2);
});
