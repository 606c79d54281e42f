import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { fakeChildren, freePort, get, sleep, Workspace } from '../helpers/workspace.js';

const started = (name: string) => (l: LogLine) => l.component === 'supervisor' && l.msg === `${name} started`;

/** Sends requests back to back until stopped; counts answers and failures. */
function load(port: number): { stop(): Promise<{ ok: number; failed: string[]; tags: Set<string | null> }> } {
  let running = true;
  const result = { ok: 0, failed: [] as string[], tags: new Set<string | null>() };
  const loop = (async () => {
    while (running) {
      try {
        const a = await get(port);
        result.ok += 1;
        result.tags.add(a.tag);
      } catch (err) {
        result.failed.push((err as Error).message);
      }
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

async function stopDaemon(cli: Daemon): Promise<void> {
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
}

test('kill -9 the orchestrator: requests keep flowing, it comes back and its snapshots reach the workers', async (t) => {
  const ws = new Workspace(t);
  const port = await freePort();
  ws.writeConfig({ port, workers: 2, tag: 'first.test' });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  const first = await cli.waitForLog(started('orchestrator'));

  const traffic = load(port);
  await sleep(200);
  // the restarted orchestrator will publish a different route table
  ws.writeConfig({ port, workers: 2, tag: 'second.test' });
  const mark = cli.lines.length;
  process.kill(first.childPid as number, 'SIGKILL');
  const why = await cli.waitForLog((l) => l.child === 'orchestrator' && typeof l.reason === 'string', 20_000, mark);
  assert.equal(why.reason, 'killed by SIGKILL');
  assert.equal(typeof why.restartInMs, 'number');
  const second = await cli.waitForLog(started('orchestrator'), 20_000, mark);
  assert.notEqual(second.childPid, first.childPid);
  // both workers get the new orchestrator's routes (re-versioned above what they hold)
  for (const worker of [1, 2]) {
    await cli.waitForLog((l) => l.component === 'fake-worker' && l.worker === worker && l.kind === 'routes' && l.tag === 'second.test', 20_000, mark);
  }
  // and the new orchestrator hears `applied` in its own numbering
  await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.pid === second.childPid && l.msg === 'applied' && l.kind === 'routes' && l.version === 1, 20_000, mark);
  await sleep(200);
  const result = await traffic.stop();
  assert.deepEqual(result.failed, []);
  assert.ok(result.ok > 20, `only ${result.ok} requests went through`);
  assert.ok(result.tags.has('first.test') && result.tags.has('second.test'));
  // the workers were never restarted
  assert.equal(cli.lines.filter(started('proxy worker 1')).length, 1);
  assert.equal(cli.lines.filter(started('proxy worker 2')).length, 1);
  await stopDaemon(cli);
});

test('kill -9 a proxy worker: it is replaced with the cached snapshots while the other keeps serving', async (t) => {
  const ws = new Workspace(t);
  const port = await freePort();
  ws.writeConfig({ port, workers: 2, tag: 'cached.test' });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  const victim = await cli.waitForLog(started('proxy worker 2'));

  const mark = cli.lines.length;
  process.kill(victim.childPid as number, 'SIGKILL');
  const why = await cli.waitForLog((l) => l.child === 'proxy worker 2' && l.reason === 'killed by SIGKILL', 20_000, mark);
  assert.equal(why.worker, 2);
  // the survivor serves while worker 2 is down
  for (let i = 0; i < 10; i++) assert.equal((await get(port)).worker, 1);
  const replacement = await cli.waitForLog(started('proxy worker 2'), 20_000, mark);
  assert.notEqual(replacement.childPid, victim.childPid);
  const fromReplacement = (msg: string) => (l: LogLine) => l.component === 'fake-worker' && l.pid === replacement.childPid && l.msg === msg;
  const routes = await cli.waitForLog((l) => fromReplacement('snapshot')(l) && l.kind === 'routes', 20_000, mark);
  assert.equal(routes.tag, 'cached.test');
  await cli.waitForLog(fromReplacement('listening'), 20_000, mark);
  // nothing came from the orchestrator: the supervisor's cache served the new worker
  assert.equal(cli.find((l) => l.msg === 'snapshot received', mark), undefined);
  assert.equal(cli.lines.filter(started('orchestrator')).length, 1);

  const traffic = load(port);
  await sleep(300);
  const result = await traffic.stop();
  assert.deepEqual(result.failed, []);
  assert.deepEqual([...result.tags], ['cached.test']);
  await stopDaemon(cli);
});

test('a crash loop backs off exponentially instead of spinning', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 1, tag: 'x', crash: true });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  const crashed = (l: LogLine) => l.child === 'orchestrator' && l.reason === 'exited with code 3';
  await cli.waitForLog(() => cli.lines.filter(crashed).length >= 4, 30_000);
  const delays = cli.lines.filter(crashed).map((l) => l.restartInMs as number);
  assert.deepEqual(delays.slice(0, 4), [250, 500, 1000, 2000]);
  // each start waited at least the announced delay after the crash before it
  const events = cli.lines.filter((l) => crashed(l) || started('orchestrator')(l));
  for (let i = 1; i < events.length; i++) {
    if (!crashed(events[i - 1]!) || !started('orchestrator')(events[i]!)) continue;
    const gap = Date.parse(events[i]!.time as string) - Date.parse(events[i - 1]!.time as string);
    assert.ok(gap >= (events[i - 1]!.restartInMs as number) - 5, `restarted after ${gap} ms`);
  }
  // a stop during the backoff wait is immediate
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('a fatal error from a child stops dispenser with exit code 1, without restarting it', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: 1, workers: 1, tag: 'x', fatal: 'docker engine unreachable at /var/run/docker.sock' });
  const cli = startDaemon(['-c', ws.configFile, '-p', ws.pidFile], fakeChildren, { t });
  assert.equal(await cli.exited, 1);
  const fatal = cli.find((l) => l.level === 60);
  assert.ok(fatal, 'a fatal log line');
  assert.equal(fatal.code, 'TEST_FATAL');
  assert.match(String(fatal.msg), /docker engine unreachable/);
  await sleep(500);
  assert.equal(cli.lines.filter(started('orchestrator')).length, 1);
});
