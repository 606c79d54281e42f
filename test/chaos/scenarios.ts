/**
 * Chaos scenarios: faults injected into a real daemon (supervisor, orchestrator, proxy workers,
 * real engine, loopback registry) while bounded request loops run through the proxy. Each
 * scenario measures failed/total requests and the time until the daemon is whole again, and
 * judges the result against its target. Used by `npm run chaos` (test/chaos/run.ts) and by
 * test/e2e/chaos.test.ts, which asserts the same targets.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Infra } from '@dispenser/shared/testing/infra';
import { isAlive, startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { docker, httpdImage, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get, loadLoop, waitForReply } from '../helpers/http.js';
import { writeStack, type Stack } from '../helpers/stack.js';
import { freePort, lastLog, logMark, sleep, waitForLogAfter } from '../helpers/supervision.js';

/** concurrent request loops (one request in flight each, a fresh connection per request) */
export const LOOPS = 2;
/** bounds of every loop: a scenario never sends more, nor runs longer */
const MAX_REQUESTS = 20_000;
const MAX_MS = 60_000;

export interface ChaosStack {
  daemon: Daemon;
  stack: Stack;
  instance: string;
  repo: string;
  host: string;
  port: number;
}

export interface ScenarioResult {
  scenario: string;
  failed: number;
  total: number;
  /** from the fault to the daemon being whole again (see each scenario); -1 when it never was */
  recoveryMs: number;
  target: string;
  pass: boolean;
  /** why it failed, or what else was seen (statuses, bodies) */
  notes: string;
}

export interface Scenario {
  name: string;
  run(s: ChaosStack): Promise<ScenarioResult>;
}

const SERVICE = 'web';


/**
 * One daemon for every scenario: a watched service (`live` tag, polled every second) behind a
 * two-worker http-only proxy on a loopback port. Images: v1 under `live`, v2 under `v2` (pushed
 * under `live` by the redeploy scenario).
 */
export async function startChaosStack(env: Infra): Promise<ChaosStack> {
  const instance = randomName('test-chaos');
  const repo = `${env.registry}/${randomName('chaos')}`;
  const host = `${randomName('app')}.chaos.test`;
  const port = await freePort();
  const stack = writeStack(
    `
delay = 1

[proxy]
strategy = "http-only"
http_port = ${port}
bind = "127.0.0.1"
workers = 2
shutdown_timeout = "5s"

[[service]]
path = "${SERVICE}"
`,
    {
      [SERVICE]: `
[service]
name = "${SERVICE}"
image = "${repo}:live"

[dispenser]
watch = true

[proxy]
host = "${host}"
service_port = 8080
health_path = "/health"
health_interval = "250ms"
deploy_timeout = "10s"
drain_timeout = "5s"
`,
    },
  );
  const s: Partial<ChaosStack> = { stack, instance, repo, host, port };
  try {
    httpdImage(`${repo}:live`, env.baseImage, 'v1');
    httpdImage(`${repo}:v2`, env.baseImage, 'v2');
    s.daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
    await s.daemon.waitForLog((l) => l.component === 'supervisor' && l.msg === 'dispenser ready', 60_000);
    await waitForReply(port, '/', host, (r) => r.status === 200, 30_000);
    return s as ChaosStack;
  } catch (e) {
    await stopChaosStack(s);
    throw e;
  }
}

/** Stops the daemon and removes containers (by instance label), images and the stack dir. Never throws. */
export async function stopChaosStack(s: Partial<ChaosStack>): Promise<void> {
  try {
    await s.daemon?.stop();
  } catch {
    // already gone
  }
  if (s.instance) {
    try {
      removeInstance(s.instance);
    } catch {
      // engine gone: nothing to remove
    }
  }
  if (s.repo) {
    // tags and the digest references (repo@sha256:…) a pull or the retagged push leaves behind
    try {
      const refs = docker('images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}', s.repo).split(/\s+/);
      const ours = refs.filter((r) => r.startsWith(`${s.repo}`) && !r.endsWith(':<none>') && !r.endsWith('@<none>'));
      if (ours.length) docker('rmi', '-f', ...new Set(ours));
    } catch {
      // engine gone, or nothing left
    }
  }
  s.stack?.remove();
}

interface Load {
  stop(): Promise<{ ok: number; failed: number; statuses: Map<string, number>; bodies: Set<string> }>;
}

/** LOOPS bounded loops; stop() merges their outcomes */
function load(s: ChaosStack): Load {
  const loops = Array.from({ length: LOOPS }, () => loadLoop(s.port, '/', s.host, { maxRequests: MAX_REQUESTS, maxMs: MAX_MS }));
  return {
    async stop() {
      const all = await Promise.all(loops.map((l) => l.stop()));
      const out = { ok: 0, failed: 0, statuses: new Map<string, number>(), bodies: new Set<string>() };
      for (const o of all) {
        out.ok += o.ok;
        out.failed += o.failed;
        for (const [k, n] of o.statuses) out.statuses.set(k, (out.statuses.get(k) ?? 0) + n);
        for (const b of o.bodies) out.bodies.add(b);
      }
      return out;
    },
  };
}

function describe(o: { statuses: Map<string, number>; bodies: Set<string> }): string {
  return `statuses ${JSON.stringify([...o.statuses])}, bodies ${JSON.stringify([...o.bodies].sort())}`;
}

/**
 * Runs `fault` under load. `fault` returns the recovery time in ms; the load runs on for
 * `settleMs` after it. On an error the loops are stopped and the result is a failure.
 */
async function underLoad(
  s: ChaosStack,
  scenario: string,
  target: string,
  fault: () => Promise<number>,
  judge: (o: { ok: number; failed: number; statuses: Map<string, number> }) => string | undefined,
  settleMs = 1000,
  info: () => string = () => '',
): Promise<ScenarioResult> {
  const l = load(s);
  let recoveryMs = -1;
  let error: string | undefined;
  try {
    await sleep(500); // traffic flows before the fault
    recoveryMs = await fault();
    await sleep(settleMs);
  } catch (e) {
    error = (e as Error).message.split('\n')[0];
  }
  const o = await l.stop();
  const total = o.ok + o.failed;
  const problem = error ?? (total < 40 ? `only ${total} requests went through` : judge(o));
  return { scenario, failed: o.failed, total, recoveryMs, target, pass: problem === undefined, notes: [problem, describe(o), info()].filter(Boolean).join('; ') };
}

const msg = (pred: (m: string) => boolean) => (l: LogLine): boolean => typeof l.msg === 'string' && pred(l.msg);

/**
 * (1) A new image pushed under the watched tag: the registry poll sees it and the rollout
 * replaces the container. Recovery: push to "rollout complete". Target: 0 failed.
 */
export const redeploy: Scenario = {
  name: 'redeploy under load',
  run: (s) =>
    underLoad(
      s,
      'redeploy under load',
      '0 failed',
      async () => {
        const mark = logMark(s.daemon);
        const pushedAt = Date.now();
        docker('tag', `${s.repo}:v2`, `${s.repo}:live`);
        execFileSync('docker', ['push', `${s.repo}:live`], { stdio: 'ignore' });
        await waitForLogAfter(s.daemon, mark, msg((m) => m.startsWith(`rollout of ${SERVICE} complete`)), 60_000);
        const recovery = Date.now() - pushedAt;
        await waitForReply(s.port, '/', s.host, (r) => r.body.trim() === 'v2', 10_000);
        return recovery;
      },
      (o) => (o.failed === 0 ? undefined : `${o.failed} failed`),
    ),
};

/**
 * (2) kill -9 of proxy worker 1. Each loop has one request in flight, so at most one request per
 * loop can be torn down. Recovery: kill to "proxy worker 1 ready" (a new process). Target:
 * ≤ 1 failed in 40 and ≤ one per loop.
 */
export const killWorker: Scenario = {
  name: 'kill -9 proxy worker',
  run: (s) => {
    let replaced = true;
    return underLoad(
      s,
      'kill -9 proxy worker',
      '≤ 1 in 40 failed',
      async () => {
        const before = lastLog(s.daemon, (l) => l.msg === 'proxy worker 1 started')!.childPid as number;
        const mark = logMark(s.daemon);
        const killedAt = Date.now();
        process.kill(before, 'SIGKILL');
        const started = await waitForLogAfter(s.daemon, mark, (l) => l.msg === 'proxy worker 1 started', 20_000);
        await waitForLogAfter(s.daemon, mark, (l) => l.msg === 'proxy worker 1 ready', 20_000);
        const recovery = Date.now() - killedAt;
        replaced = started.childPid !== before && isAlive(started.childPid as number) && !isAlive(before);
        return recovery;
      },
      (o) => {
        if (!replaced) return 'the worker was not replaced';
        if (o.failed > LOOPS) return `${o.failed} failed: more than one per loop`;
        if (o.failed * 40 > o.ok + o.failed) return `${o.failed} failed: more than 1 in 40`;
        return undefined;
      },
    );
  },
};

/**
 * (3) kill -9 of the orchestrator: the workers keep their routes; the supervisor restarts it and
 * it adopts the running container. Recovery: kill to "orchestrator ready". Target: 0 failed.
 */
export const killOrchestrator: Scenario = {
  name: 'kill -9 orchestrator',
  run: (s) => {
    let adopted = true;
    return underLoad(
      s,
      'kill -9 orchestrator',
      '0 failed',
      async () => {
        const container = `${s.instance}-${SERVICE}`;
        const idBefore = docker('inspect', '-f', '{{.Id}}', container);
        const pid = lastLog(s.daemon, (l) => l.msg === 'orchestrator started')!.childPid as number;
        const mark = logMark(s.daemon);
        const killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
        await waitForLogAfter(s.daemon, mark, (l) => l.component === 'orchestrator' && l.msg === 'orchestrator ready', 60_000);
        const recovery = Date.now() - killedAt;
        adopted = docker('inspect', '-f', '{{.Id}}', container) === idBefore;
        return recovery;
      },
      (o) => (!adopted ? 'the container was replaced, not adopted' : o.failed === 0 ? undefined : `${o.failed} failed`),
    );
  },
};

/**
 * (4) 20 SIGHUPs in 2 s (the configuration unchanged): the reloads queue or coalesce. Recovery:
 * last SIGHUP to the last reload line (0 when every reload was done by then), once no reload
 * line has come for 1 s. Target: 0 failed requests; a reload applied, none failed.
 */
export const reloadStorm: Scenario = {
  name: 'reload storm (20 SIGHUP / 2 s)',
  run: (s) => {
    let stormNotes = '';
    return underLoad(
      s,
      'reload storm (20 SIGHUP / 2 s)',
      '0 failed',
      async () => {
        const mark = logMark(s.daemon);
        for (let i = 0; i < 20; i++) {
          s.daemon.child.kill('SIGHUP');
          await sleep(100);
        }
        const lastAt = Date.now();
        // the storm is over once no reload line has come for a second
        const isReload = (l: LogLine): boolean => l.component !== 'proxy' && typeof l.msg === 'string' && /^(reload|applying reload)/.test(l.msg);
        const deadline = Date.now() + 30_000;
        let lastReloadAt = lastAt;
        let seen = s.daemon.lines.length;
        while (Date.now() - Math.max(lastReloadAt, lastAt) < 1000) {
          if (Date.now() > deadline) throw new Error('reloads still going on 30 s after the storm');
          await sleep(100);
          if (s.daemon.lines.slice(seen).some(isReload)) lastReloadAt = Date.now() - 100;
          seen = s.daemon.lines.length;
        }
        const lines = s.daemon.lines.slice(mark);
        const requested = lines.filter((l) => l.msg === 'reload requested').length;
        const applied = lines.filter((l) => l.msg === 'reload: new configuration applied').length;
        const failed = lines.filter((l) => l.msg === 'reload failed: still running the previous configuration').length;
        stormNotes = `${requested} reloads requested, ${applied} applied, ${failed} failed`;
        if (applied === 0 || failed > 0) throw new Error(`the storm did not end in an applied reload: ${stormNotes}`);
        return Math.max(0, lastReloadAt - lastAt);
      },
      (o) => (o.failed === 0 ? undefined : `${o.failed} failed`),
      500,
      () => stormNotes,
    );
  },
};

/** In order of value; each leaves the daemon serving for the next. */
export const SCENARIOS: Scenario[] = [redeploy, killWorker, killOrchestrator, reloadStorm];

const startInfra = fileURLToPath(new URL('../../../scripts/infra/start.sh', import.meta.url));

function dockerdRuns(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'dockerd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function engineUp(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * (5) The Docker engine stops and starts again. Without live-restore (the test engine has none)
 * the engine stops the containers with it: while it is away the proxy answers 503 for the
 * declared service, never 404, and once it is back Dispenser reconnects and starts the service
 * again. Only in `npm run chaos`, last: it restarts this machine's engine under everything else.
 * Recovery: engine back to the service answering 200 again. Target: every answer a 200 or a 503
 * (with Retry-After), except ≤ 1 in 40 in the moment the container dies and the routes follow.
 */
export const engineRestart: Scenario = {
  name: 'Docker engine restart',
  run: (s) =>
    underLoad(
      s,
      'Docker engine restart',
      'only 200/503, ≤ 1 in 40 else',
      async () => {
        execFileSync('pkill', ['-TERM', '-x', 'dockerd']);
        for (let i = 0; i < 120 && engineUp(); i++) await sleep(250);
        if (engineUp()) throw new Error('dockerd did not stop');
        // the API goes before the process: a second dockerd started meanwhile would not come up
        for (let i = 0; i < 120 && dockerdRuns(); i++) await sleep(250);
        await sleep(1000); // the proxy serves on with the engine away
        execFileSync('bash', [startInfra], { stdio: 'ignore', timeout: 120_000 });
        const backAt = Date.now();
        await waitForReply(s.port, '/', s.host, (r) => r.status === 200, 120_000);
        return Date.now() - backAt;
      },
      (o) => {
        const total = o.ok + o.failed;
        const unavailable = o.statuses.get('503') ?? 0;
        const other = o.failed - unavailable;
        if (o.statuses.get('404')) return `${o.statuses.get('404')} × 404 for a declared service`;
        if (other * 40 > total) return `${other} answers neither 200 nor 503: more than 1 in 40`;
        return undefined;
      },
      2000,
    ),
};

/** `npm run chaos` runs these after SCENARIOS; never part of npm test. */
export const ENGINE_SCENARIOS: Scenario[] = [engineRestart];

export function formatTable(results: ScenarioResult[]): string {
  const rows = [
    ['scenario', 'failed/total', 'recovery', 'target', 'result'],
    ...results.map((r) => [r.scenario, `${r.failed}/${r.total}`, r.recoveryMs < 0 ? '-' : `${r.recoveryMs} ms`, r.target, r.pass ? 'ok' : 'FAIL']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const r of results) out.push(`${r.pass ? '' : 'FAIL '}${r.scenario}: ${r.notes}`);
  return out.join('\n');
}
