/**
 * Continuous deployment through the real CLI (supervisor, orchestrator with the registry watcher
 * and cron, proxy worker) against the real engine and the loopback registry, in one stack and one
 * daemon (a restart at the end): a push to a watched tag is picked up by HEAD-only polls and
 * redeployed (back and forth, first push of a missing tag, same image under a second digest);
 * cron jobs run in containers on schedule without overlapping, `pull = "always"` pulls on every
 * tick, cron restarts a long-running service, a reload drops schedules; an unreachable registry
 * stays its own problem. Every container is named `<instance>-<service>`; images carry
 * dispenser.test=e2e (so do their containers) and everything is removed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { infra } from '@dispenser/shared/testing/infra';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get, waitForReply } from '../helpers/http.js';
import { registryLogOffset, requestsSince } from '../helpers/registry-log.js';
import { pushOciCopy } from '../helpers/registry-manifest.js';
import { writeStack } from '../helpers/stack.js';
import { freePort } from '@dispenser/shared/testing/ports';


/** The n-th log line (1-based) matching pred, counted from line index `from`. */
function waitForNth(daemon: Daemon, pred: (l: LogLine) => boolean, n: number, timeoutMs: number, from = 0): Promise<LogLine> {
  let index = 0;
  let seen = 0;
  // waitForLog hands every line to the predicate exactly once, in order
  return daemon.waitForLog((l) => index++ >= from && pred(l) && ++seen >= n, timeoutMs);
}

const of = (service: string, msg: string | RegExp) => (l: LogLine): boolean =>
  l.service === service && typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg));

/** Removes local references (tag or repo@digest) so the engine must pull; missing ones are fine. */
function untagLocal(...refs: string[]): void {
  for (const ref of refs) {
    try {
      docker('rmi', ref);
    } catch {
      // not present
    }
  }
}

const isPoll = (l: LogLine): boolean => l.module === 'cd' && l.msg === 'registry poll done';

const count = (daemon: Daemon, pred: (l: LogLine) => boolean): number => daemon.lines.filter(pred).length;

test('continuous deployment through the real CLI: registry watch and cron', { timeout: 170_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-e2e-cd');
  const webRepoName = randomName('cd-e2e-web');
  const jobRepoName = randomName('cd-e2e-job');
  const webRef = `${env.registry}/${webRepoName}:live`;
  const jobRef = `${env.registry}/${jobRepoName}:v1`;
  const ondemandRepoName = randomName('cd-e2e-ondemand');
  const ondemandRef = `${env.registry}/${ondemandRepoName}:live`;
  const twinRepoName = randomName('cd-e2e-twin');
  const twinRef = `${env.registry}/${twinRepoName}:live`;
  // pushed only after Dispenser started
  const lateRepoName = randomName('cd-e2e-late');
  const lateRef = `${env.registry}/${lateRepoName}:live`;
  const host = 'web.cd-e2e.test';
  const port = await freePort();
  // a registry nobody listens on: its failures must stay its own
  const offlineRegistry = `127.0.0.1:${await freePort()}`;

  const pushed: string[] = [];
  const cleanupRefs: string[] = [];
  const webImage = (body: string): string => {
    const digest = buildAndPush(webRef, {
      base: env.baseImage,
      files: { '/www/index.html': `${body}\n` },
      cmd: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'],
    });
    pushed.push(digest);
    return digest;
  };

  // batch jobs: on-trigger, every 2 s
  const jobs: Record<string, string> = {
    job: `
[service]
name = "job"
image = "${jobRef}"
command = ["sh", "-c", "date +%s >> /out/runs.txt"]

[[volume]]
source = "./out"
target = "/out"

[dispenser]
watch = false
initialize = "on-trigger"
cron = "*/2 * * * * *"
`,
    slow: `
[service]
name = "slow"
image = "${jobRef}"
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 5 & wait"]

[dispenser]
watch = false
initialize = "on-trigger"
cron = "*/2 * * * * *"
`,
    pulled: `
[service]
name = "pulled"
image = "${jobRef}"
command = ["sh", "-c", "exit 3"]

[dispenser]
watch = false
initialize = "on-trigger"
cron = "*/2 * * * * *"
pull = "always"
`,
  };

  const stack = writeStack(
    `
delay = 1

[proxy]
strategy = "http-only"
http_port = ${port}
bind = "127.0.0.1"
workers = 1

[[service]]
path = "web"

[[service]]
path = "job"

[[service]]
path = "slow"

[[service]]
path = "pulled"

[[service]]
path = "ondemand"

[[service]]
path = "late"

[[service]]
path = "restarter"

[[service]]
path = "offline"

[[service]]
path = "twin"
`,
    {
      web: `
[service]
name = "web"
image = "${webRef}"

[dispenser]
watch = true

[proxy]
host = "${host}"
service_port = 8080
`,
      ...jobs,
      ondemand: `
[service]
name = "ondemand"
image = "${ondemandRef}"
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]

[dispenser]
watch = true
initialize = "on-trigger"
`,
      restarter: `
[service]
name = "restarter"
image = "${jobRef}"
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]

[dispenser]
watch = true
cron = "*/5 * * * * *"
`,
      offline: `
[service]
name = "offline"
image = "${offlineRegistry}/nothing:live"

[dispenser]
watch = true
initialize = "on-trigger"
`,
      twin: `
[service]
name = "twin"
image = "${twinRef}"
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]

[dispenser]
watch = true
`,
      late: `
[service]
name = "late"
image = "${lateRef}"
command = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]

[dispenser]
watch = true
initialize = "on-trigger"
`,
    },
  );
  stack.write('job/out/.keep', '');
  const runsFile = join(stack.dir, 'job', 'out', 'runs.txt');

  let daemon: Daemon | undefined;
  try {
    const v1 = webImage('v1');
    const jobDigest = buildAndPush(jobRef, { base: env.baseImage });
    cleanupRefs.push(`${env.registry}/${jobRepoName}@${jobDigest}`);
    const twin1 = buildAndPush(twinRef, { base: env.baseImage, files: { '/version': 'twin\n' } });
    cleanupRefs.push(`${env.registry}/${twinRepoName}@${twin1}`);
    const ondemand1 = buildAndPush(ondemandRef, { base: env.baseImage, files: { '/version': '1\n' } });
    cleanupRefs.push(`${env.registry}/${ondemandRepoName}@${ondemand1}`);
    // as on a VM where CI pushed the image: Dispenser pulls v1 itself, so its RepoDigests come from that pull
    untagLocal(webRef, `${env.registry}/${webRepoName}@${v1}`);

    daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    const d = daemon;
    await d.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
    await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'v1', 30_000);

    await t.test('(b) an on-trigger cron job is not started at launch, then runs every 2 s and writes to its mounted volume', async () => {
      const notStarted = d.lines.find(of('job', /initialize = "on-trigger": not started/));
      assert.ok(notStarted, 'reconcile says the on-trigger job is not started at launch');
      const scheduled = await d.waitForLog(of('job', 'cron scheduled'), 30_000);
      assert.equal(scheduled.cron, '*/2 * * * * *');
      assert.match(String(scheduled.nextRun), /^\d{4}-\d\d-\d\dT/);

      const second = await waitForNth(d, of('job', 'cron run finished'), 2, 30_000);
      // by the daemon's own clock: from the schedule being set up to the end of the second run
      const elapsed = Date.parse(String(second.time)) - Date.parse(String(scheduled.time));
      assert.equal(second.exitCode, 0);
      assert.equal(typeof second.durationMs, 'number');
      // nominally 3-5 s (two ticks plus a ~1 s run); ~8 s with slack for a loaded 2-core machine
      assert.ok(elapsed > 0 && elapsed < 10_000, `two runs took ${elapsed} ms`);

      // every line in the file comes from a cron tick: finished ≤ lines ≤ started
      const finished = count(d, of('job', 'cron run finished'));
      const lines = readFileSync(runsFile, 'utf8').trim().split('\n').filter(Boolean);
      const started = count(d, of('job', 'cron: starting run'));
      assert.ok(lines.length >= 2, `runs recorded: ${lines.length}`);
      assert.ok(lines.length >= finished && lines.length <= started, `file has ${lines.length} runs; ${started} started, ${finished} finished`);
      for (const line of lines) assert.match(line, /^\d+$/);

      // the first container of the job was created by a tick, not at launch
      const firstStart = d.lines.findIndex(of('job', /^container .* started$/));
      const firstTick = d.lines.findIndex(of('job', 'cron: starting run'));
      assert.ok(firstTick >= 0 && firstStart > firstTick, `first container start (line ${firstStart}) after the first tick (line ${firstTick})`);
      // pull = "on-startup": the ticks use the local image
      assert.equal(count(d, (l) => l.service === 'job' && typeof l.msg === 'string' && l.msg.startsWith('pulling ')), 0);
      const next = d.lines.find(of('job', 'next cron run'));
      assert.match(String(next?.nextRun), /^\d{4}-\d\d-\d\dT/);
    });

    await t.test('(c) a job still running at the next tick is not started twice; the skip is logged', async () => {
      const skip = await d.waitForLog(of('slow', 'cron tick skipped: the previous run is still going'), 30_000);
      assert.equal(skip.level, 40);
      assert.equal(skip.cron, '*/2 * * * * *');
      const done = await d.waitForLog(of('slow', 'cron run finished'), 30_000);
      assert.equal(done.exitCode, 0);
      assert.ok(Number(done.durationMs) >= 4_000, `a 5 s job ran ${String(done.durationMs)} ms`);
      const containers = docker('ps', '-a', '--filter', `label=dispenser.instance=${instance}`, '--filter', 'label=dispenser.service=slow', '--format', '{{.Names}}')
        .split('\n')
        .filter(Boolean);
      assert.ok(containers.length <= 2, `at most the job and a copy being replaced: ${containers.join(', ')}`);
    });

    await t.test('(d) pull = "always": every cron tick pulls the image first; the exit code is logged', async () => {
      const exited = await waitForNth(d, of('pulled', 'cron run exited with code 3'), 2, 40_000);
      assert.equal(exited.exitCode, 3);
      assert.equal(exited.level, 40);
      const runs = d.lines.filter(of('pulled', 'cron: starting run'));
      const pulls = d.lines.filter((l) => l.service === 'pulled' && l.msg === `pulling ${jobRef}`);
      assert.ok(runs.length >= 2 && runs.every((l) => l.pull === true), 'ticks ask for a pull');
      // each tick that got going pulled (the last one may still be pulling)
      assert.ok(pulls.length >= runs.length - 1 && pulls.length >= 2, `${pulls.length} pulls for ${runs.length} ticks`);
      assert.ok(d.lines.some((l) => l.service === 'pulled' && typeof l.msg === 'string' && /^pull: (Digest|Status):/.test(l.msg)), 'pull result logged');
    });

    await t.test('a reload that drops the cron schedules stops the ticks; a run in progress finishes; containers are left alone', async () => {
      const ids = (): string => docker('ps', '-aq', '--no-trunc', '--filter', `label=dispenser.instance=${instance}`, '--filter', 'label=dispenser.service=job');
      for (const [name, toml] of Object.entries(jobs)) stack.write(`${name}/service.toml`, toml.replace(/^cron = .*\n/m, ''));
      const before = d.lines.length;
      d.child.kill('SIGHUP');
      await waitForNth(d, (l) => l.msg === 'reload: new configuration applied', 1, 60_000, before);
      for (const name of Object.keys(jobs)) await waitForNth(d, of(name, 'cron schedule removed'), 1, 10_000, before);
      // a tick that began before the reload finishes on its own
      const runsDone = (svc: string): boolean =>
        count(d, of(svc, 'cron: starting run')) === count(d, of(svc, /^cron run (finished|exited with code|could not start)/));
      for (let end = Date.now() + 30_000; !(runsDone('job') && runsDone('pulled')) && Date.now() < end; ) await sleep(200);
      const afterReload = d.lines.length;
      const slowRunning = docker('inspect', '--format', '{{.State.Running}}', `${instance}-slow`) === 'true';
      const jobIds = ids();
      const ticks = (): number => count(d, (l) => typeof l.msg === 'string' && l.msg.startsWith('cron: starting run'));
      const ticksBefore = ticks();
      if (slowRunning) {
        // started before the reload: not killed, its end is still logged
        const done = await waitForNth(d, of('slow', 'cron run finished'), 1, 20_000, afterReload);
        assert.equal(done.exitCode, 0);
      } else {
        await sleep(4_500);
      }
      assert.equal(ticks(), ticksBefore, 'no tick after the schedules were removed');
      assert.equal(ids(), jobIds, 'the job container is not recreated by the reload');
      assert.deepEqual(
        d.lines.slice(before).filter((l) => (l.service === 'job' || l.service === 'slow' || l.service === 'pulled') && typeof l.msg === 'string' && /^removing container|^replacing container/.test(l.msg) && d.lines.indexOf(l) > afterReload),
        [],
      );
    });

    await t.test('(a) watch: polls only HEAD the manifest; a push under the same tag is redeployed within a few seconds', async () => {
      // quiet polls: between two polls only HEAD requests on the tag reach the registry
      const from = d.lines.length;
      await waitForNth(d, isPoll, 1, 20_000, from);
      const offset = registryLogOffset(env.registryLog);
      await waitForNth(d, isPoll, 3, 20_000, from);
      await sleep(300); // the access log line is written after the response
      const quiet = requestsSince(env.registryLog, offset, webRepoName);
      assert.ok(quiet.length >= 1, 'the watcher asked the registry');
      assert.deepEqual(
        quiet.filter((r) => r.method !== 'HEAD' || r.uri !== `/v2/${webRepoName}/manifests/live`),
        [],
        'no manifest GET and no blob download while nothing changes',
      );
      assert.equal(count(d, of('web', /^image changed/)), 0, 'no redeploy while the tag is unchanged');

      const beforePush = d.lines.length;
      const pushOffset = registryLogOffset(env.registryLog);
      const v2 = webImage('v2');
      assert.notEqual(v2, v1);
      const pushedAt = Date.now();
      const changed = await waitForNth(d, of('web', /^image changed/), 1, 30_000, beforePush);
      const detectedMs = Date.now() - pushedAt;
      assert.equal(changed.from, v1);
      assert.equal(changed.to, v2);
      assert.ok(String(changed.msg).includes(`${v1} → ${v2}`), String(changed.msg));
      const done = await waitForNth(d, of('web', /^redeployed/), 1, 60_000, beforePush);
      assert.equal(done.from, v1);
      assert.equal(done.to, v2);
      assert.equal(typeof done.durationMs, 'number');
      // delay = 1 s (+ ≤ 0.1 s jitter): one poll or two, plus slack for a loaded machine
      assert.ok(detectedMs < 10_000, `change detected ${detectedMs} ms after the push`);

      await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'v2', 30_000);
      const servedMs = Date.now() - pushedAt;
      assert.ok(servedMs < 30_000, `v2 served ${servedMs} ms after the push`);
      const digests = docker('image', 'inspect', '--format', '{{json .RepoDigests}}', docker('inspect', '--format', '{{.Image}}', `${instance}-web`));
      assert.ok(digests.includes(v2), `the container runs v2: ${digests}`);
      // the redeploy pulled: the measurement above would have seen a GET
      assert.ok(requestsSince(env.registryLog, pushOffset, webRepoName).some((r) => r.method === 'GET'), 'the redeploy fetched the new manifest');

      // settled: later polls see the running digest and do not redeploy again
      const settled = d.lines.length;
      await waitForNth(d, isPoll, 3, 20_000, settled);
      assert.equal(count(d, of('web', /^image changed/)), 1, 'redeployed exactly once');
      assert.equal((await get(port, '/', host)).body.trim(), 'v2');
    });

    await t.test('(a) the tag moving back to the previous image redeploys again', async () => {
      const before = d.lines.length;
      docker('tag', `${env.registry}/${webRepoName}@${v1}`, webRef);
      const out = docker('push', webRef);
      const back = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
      assert.ok(back, out);
      pushed.push(back);
      const done = await waitForNth(d, of('web', /^redeployed/), 1, 60_000, before);
      assert.equal(done.to, back);
      assert.equal(done.from, pushed[1]);
      await waitForReply(port, '/', host, (r) => r.status === 200 && r.body.trim() === 'v1', 30_000);
      const settled = d.lines.length;
      await waitForNth(d, isPoll, 3, 20_000, settled);
      assert.equal(count(d, of('web', /^image changed/)), 2, 'one redeploy per move of the tag');
      assert.equal(count(d, (l) => l.code === 'DEPLOY_DIGEST_UNCHANGED'), 0);
    });

    await t.test('(a) a watched on-trigger service is not started at launch and starts when its tag moves', async () => {
      const name = `${instance}-ondemand`;
      assert.ok(d.lines.some(of('ondemand', /initialize = "on-trigger": not started/)));
      await d.waitForLog(of('ondemand', /has no registry digest; redeploying when the tag moves/), 20_000);
      assert.equal(docker('ps', '-aq', '--filter', `name=^${name}$`), '', 'no container before the tag moves');
      const before = d.lines.length;
      const ondemand2 = buildAndPush(ondemandRef, { base: env.baseImage, files: { '/version': '2\n' } });
      cleanupRefs.push(`${env.registry}/${ondemandRepoName}@${ondemand2}`);
      const changed = await waitForNth(d, of('ondemand', /^image changed/), 1, 30_000, before);
      assert.equal(changed.from, ondemand1);
      assert.equal(changed.to, ondemand2);
      await waitForNth(d, of('ondemand', /^redeployed/), 1, 60_000, before);
      assert.equal(docker('inspect', '--format', '{{.State.Running}}', name), 'true');
      assert.equal(docker('exec', name, 'cat', '/version'), '2');
    });

    await t.test('(a) a watched on-trigger service whose tag did not exist at launch starts when it is first pushed', async () => {
      const missing = await d.waitForLog(of('late', /does not exist in the registry/), 20_000);
      assert.equal(missing.code, 'REGISTRY_MANIFEST_NOT_FOUND');
      const before = d.lines.length;
      const digest = buildAndPush(lateRef, { base: env.baseImage, files: { '/version': 'late\n' } });
      cleanupRefs.push(`${env.registry}/${lateRepoName}@${digest}`);
      const done = await waitForNth(d, of('late', /^redeployed/), 1, 60_000, before);
      assert.equal(done.to, digest);
      assert.equal(docker('exec', `${instance}-late`, 'cat', '/version'), 'late');
    });

    await t.test('cron on a watched (long-running) service restarts it on schedule without waiting for it to exit', async () => {
      const name = `${instance}-restarter`;
      const first = await d.waitForLog(of('restarter', 'cron: service restarted'), 20_000);
      assert.equal(typeof first.durationMs, 'number');
      const id1 = docker('inspect', '--format', '{{.Id}}', name);
      // a restart that began after id1 was read, and its end
      const begun = await waitForNth(d, of('restarter', 'cron: restarting service'), 1, 20_000, d.lines.length);
      await waitForNth(d, of('restarter', 'cron: service restarted'), 1, 20_000, d.lines.indexOf(begun));
      const id2 = docker('inspect', '--format', '{{.Id}}', name);
      assert.notEqual(id2, id1, 'a new container');
      assert.equal(docker('inspect', '--format', '{{.State.Running}}', name), 'true');
      // a restart takes seconds on a loaded engine; a tick during one is skipped, never one waiting for the 300 s sleep to end
      assert.equal(count(d, of('restarter', 'cron tick skipped: the previous run is still going')), 0);
      assert.equal(count(d, of('restarter', /^image changed/)), 0, 'restarts are not mistaken for image changes');
    });

    await t.test('an unreachable registry is logged once per configuration, backs off, and does not hold up the other services', async () => {
      const failing = d.lines.filter((l) => l.registry === offlineRegistry && l.code === 'REGISTRY_UNREACHABLE' && l.level === 40);
      // a reload clears every backoff (a registry's Retry-After must not outlive the config), so the
      // first failure after it is reported again; between reloads, once
      const reloads = d.lines.filter((l) => l.msg === 'reload: new configuration applied').map((l) => d.lines.indexOf(l));
      const perConfig = [-1, ...reloads].map((from, i) => failing.filter((l) => d.lines.indexOf(l) > from && d.lines.indexOf(l) < (reloads[i] ?? Infinity)).length);
      assert.ok(failing.length >= 1 && perConfig.every((n) => n <= 1), `logged once per configuration: ${JSON.stringify(failing)}`);
      assert.deepEqual(failing[0]!.services, ['offline']);
      assert.equal(typeof failing[0]!.retryInMs, 'number');
      assert.equal(docker('ps', '-aq', '--filter', `name=^${instance}-offline$`), '', 'on-trigger and never reachable: no container');
      // meanwhile the other watched services were redeployed (above) and polls went on
      assert.ok(count(d, isPoll) >= 10, `${count(d, isPoll)} polls`);
    });

    await t.test('(a) the same image re-pushed under a second manifest digest: one redeploy, then settled (no DEPLOY_DIGEST_UNCHANGED)', async () => {
      const before = d.lines.length;
      // the engine lists an image's RepoDigests sorted: make the new digest sort after the old one
      const twin2 = await pushOciCopy(env.registry, twinRepoName, 'live', (digest) => digest > twin1);
      cleanupRefs.push(`${env.registry}/${twinRepoName}@${twin2}`);
      const done = await waitForNth(d, (l) => l.service === 'twin' && typeof l.msg === 'string' && /^redeployed/.test(l.msg), 1, 60_000, before);
      assert.equal(done.code, undefined, String(done.msg));
      assert.equal(done.to, twin2);
      const digests = docker('image', 'inspect', '--format', '{{json .RepoDigests}}', docker('inspect', '--format', '{{.Image}}', `${instance}-twin`));
      assert.ok(digests.includes(twin1) && digests.includes(twin2), `one image, two digests: ${digests}`);
      await waitForNth(d, isPoll, 3, 20_000, d.lines.length);
      assert.equal(count(d, of('twin', /^image changed/)), 1);
    });

    await t.test('(a) after a restart of Dispenser, redeployed containers are adopted, not redeployed again; a push made while it was down is deployed', async () => {
      const webName = `${instance}-web`;
      const id = docker('inspect', '--format', '{{.Id}}', webName);
      const ondemandBefore = docker('inspect', '--format', '{{.Id}}', `${instance}-ondemand`);
      assert.equal(await d.stop(), 0);
      assert.equal(docker('inspect', '--format', '{{.State.Running}}', webName), 'true', 'containers outlive Dispenser');
      const ondemand3 = buildAndPush(ondemandRef, { base: env.baseImage, files: { '/version': '3\n' } });
      cleanupRefs.push(`${env.registry}/${ondemandRepoName}@${ondemand3}`);
      daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
      const d2 = daemon;
      await d2.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
      const moved = await d2.waitForLog(of('ondemand', /^redeployed/), 60_000);
      assert.equal(moved.to, ondemand3);
      assert.notEqual(docker('inspect', '--format', '{{.Id}}', `${instance}-ondemand`), ondemandBefore);
      assert.equal(docker('exec', `${instance}-ondemand`, 'cat', '/version'), '3');
      await waitForNth(d2, isPoll, 3, 30_000, d2.lines.indexOf(moved));
      assert.equal(docker('inspect', '--format', '{{.Id}}', webName), id, 'same container');
      assert.deepEqual(
        d2.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('image changed')).map((l) => l.service),
        ['ondemand'],
        'only the service whose tag moved while Dispenser was down is redeployed',
      );
      assert.ok(d2.lines.some(of('web', 'container is up to date: adopted')));
      assert.equal((await get(port, '/', host)).body.trim(), 'v1');
    });

    await t.test('everything Dispenser printed was JSON log lines (no runtime warnings), and nothing logged an error', () => {
      for (const dd of [d, daemon!]) {
        assert.deepEqual(dd.text.filter((x) => x.trim() !== ''), []);
        assert.deepEqual(dd.lines.filter((l) => (l.level ?? 0) >= 50), []);
      }
    });
  } finally {
    if (daemon) {
      const code = await daemon.stop();
      if (code !== 0) t.diagnostic(`daemon exited with ${code}`);
    }
    removeInstance(instance);
    untagLocal(webRef, jobRef, ondemandRef, lateRef, twinRef, ...cleanupRefs, ...pushed.map((digest) => `${env.registry}/${webRepoName}@${digest}`));
    stack.remove();
    if (existsSync(runsFile)) t.diagnostic('stack dir not removed');
  }
});
