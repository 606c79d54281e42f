/**
 * Benchmark: requests through the proxy while a service is redeployed.
 *
 *   steady state      — req/s and latency with nothing happening
 *   rollout           — the same load while a new image rolls out (strategy "rollout")
 *   recreate          — the same load while the service is recreated (stop, then start: what
 *                       Watchtower and the original Dispenser do)
 *
 * Runs the real CLI (supervisor, orchestrator, proxy workers) against the real engine and the
 * loopback registry; the app is busybox httpd behind a 1 s start-up delay (a typical app boot),
 * exiting promptly on SIGTERM. Bounded: about a minute. `npm run bench` runs it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI } from '@dispenser/shared/testing/daemon';
import { docker } from '@dispenser/shared/testing/docker';
import { infraEnv } from '@dispenser/shared/testing/infra';
import { freePort } from '@dispenser/shared/testing/ports';

const CONCURRENCY = 8;
const STEADY_MS = 5000;

interface Sample {
  at: number;
  ms: number;
  ok: boolean;
}

function buildImage(ref: string, base: string, body: string): void {
  const ctx = mkdtempSync(join(tmpdir(), 'rollout-bench-img-'));
  try {
    mkdirSync(join(ctx, 'www'));
    writeFileSync(join(ctx, 'www', 'index.html'), `${body}\n`);
    writeFileSync(join(ctx, 'www', 'health'), 'ok\n');
    const cmd = ['sh', '-c', 'trap "exit 0" TERM; sleep 1; httpd -f -p 8080 -h /www & wait'];
    writeFileSync(join(ctx, 'Dockerfile'), [`FROM ${base}`, 'COPY www/ /www/', `CMD ${JSON.stringify(cmd)}`, 'LABEL dispenser.test=rollout-bench', ''].join('\n'));
    execFileSync('docker', ['build', '-q', '-t', ref, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: 'ignore' });
    execFileSync('docker', ['push', '-q', ref], { stdio: 'ignore' });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

class Daemon {
  readonly lines: Array<Record<string, unknown>> = [];
  private readonly child: ChildProcess;
  private waiters = new Set<() => void>();

  constructor(configFile: string, instance: string) {
    this.child = spawn(process.execPath, [CLI, '-c', configFile], { env: { ...process.env, DISPENSER_INSTANCE: instance, DISPENSER_LOG_LEVEL: 'info', DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onLine = (raw: string): void => {
      try {
        this.lines.push(JSON.parse(raw) as Record<string, unknown>);
      } catch {
        return;
      }
      for (const w of this.waiters) w();
    };
    createInterface({ input: this.child.stdout! }).on('line', onLine);
    createInterface({ input: this.child.stderr! }).on('line', onLine);
  }

  /** waits for a log line matching `pred` that appears after line index `from` */
  waitFor(pred: (l: Record<string, unknown>) => boolean, from: number, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.lines.slice(from).some(pred)) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out; last lines:\n${this.lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  reload(): void {
    this.child.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}

/** CONCURRENCY keep-alive loops through the proxy until stopped; every request is a sample */
function load(port: number, host: string): { samples: Sample[]; bodies: Set<string>; stop(): Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const samples: Sample[] = [];
  const bodies = new Set<string>();
  let stopped = false;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const start = performance.now();
      const done = (ok: boolean): void => {
        samples.push({ at: Date.now(), ms: performance.now() - start, ok });
        resolve();
      };
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          bodies.add(body.trim());
          done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
        });
        res.on('error', () => done(false));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(false));
    });
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (!stopped) await one();
  });
  return {
    samples,
    bodies,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

function stats(samples: readonly Sample[], from: number, to: number): { requests: number; failed: number; rps: number; p50: number; p99: number; seconds: number } {
  const window = samples.filter((s) => s.at >= from && s.at <= to);
  const ms = window.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p: number): number => (ms.length ? ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]! : NaN);
  const seconds = (to - from) / 1000;
  return { requests: window.length, failed: window.filter((s) => !s.ok).length, rps: Math.round(window.length / seconds), p50: round(pct(50)), p99: round(pct(99)), seconds: round(seconds) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function main(): Promise<void> {
  const env = infraEnv();
  if (!existsSync('/var/run/docker.sock')) {
    console.log('rollout bench: skipped (no Docker engine)');
    return;
  }
  const id = randomBytes(4).toString('hex');
  const instance = `bench-rollout-${id}`;
  const repo = `${env.registry}/rollout-bench-${id}`;
  const host = 'app.bench.test';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rollout-bench-'));
  const serviceToml = (tag: string, strategy: 'rollout' | 'recreate'): string =>
    [
      '[service]',
      'name = "app"',
      `image = "${repo}:${tag}"`,
      '[dispenser]',
      'watch = false',
      `strategy = "${strategy}"`,
      '[proxy]',
      `host = "${host}"`,
      'service_port = 8080',
      'health_path = "/health"',
      'health_interval = "250ms"',
      'drain_timeout = "5s"',
      '',
    ].join('\n');
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'dispenser.toml'), ['[proxy]', 'strategy = "http-only"', `http_port = ${port}`, 'bind = "127.0.0.1"', 'workers = 2', '[[service]]', 'path = "app"', ''].join('\n'));
  writeFileSync(join(dir, 'app', 'service.toml'), serviceToml('v1', 'rollout'));
  let daemon: Daemon | undefined;
  try {
    for (const v of ['v1', 'v2', 'v3']) buildImage(`${repo}:${v}`, env.baseImage, v);
    daemon = new Daemon(join(dir, 'dispenser.toml'), instance);
    await daemon.waitFor((l) => l.msg === 'dispenser ready', 0);
    // the route exists once the app answers
    for (let i = 0; ; i++) {
      const l = load(port, host);
      await new Promise((r) => setTimeout(r, 300));
      await l.stop();
      if (l.samples.some((s) => s.ok)) break;
      if (i > 60) throw new Error('the app never answered through the proxy');
    }

    const redeploy = async (tag: string, strategy: 'rollout' | 'recreate'): Promise<{ from: number; to: number }> => {
      const mark = daemon!.lines.length;
      writeFileSync(join(dir, 'app', 'service.toml'), serviceToml(tag, strategy));
      const from = Date.now();
      daemon!.reload();
      await daemon!.waitFor((l) => l.msg === 'reload: new configuration applied', mark, 90_000);
      return { from, to: Date.now() };
    };

    const l = load(port, host);
    await new Promise((r) => setTimeout(r, 1000)); // warm-up: JIT, keep-alive connections
    const steadyFrom = Date.now();
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const steady = stats(l.samples, steadyFrom, Date.now());
    const rollout = await redeploy('v2', 'rollout');
    await new Promise((r) => setTimeout(r, 1000));
    // recreate: until the app answers again; the window ends when the reload is done and the app serves
    const recreate = await redeploy('v3', 'recreate');
    const servedAgain = Date.now();
    while (!l.samples.some((s) => s.at > servedAgain && s.ok) && Date.now() - servedAgain < 30_000) await new Promise((r) => setTimeout(r, 50));
    recreate.to = Math.max(recreate.to, l.samples.find((s) => s.at > servedAgain && s.ok)?.at ?? recreate.to);
    await l.stop();

    const rows = {
      'steady state': steady,
      'during rollout': stats(l.samples, rollout.from, rollout.to),
      'during recreate': stats(l.samples, recreate.from, recreate.to),
    };
    console.log(`rollout bench: ${CONCURRENCY} keep-alive clients through the proxy (2 workers), busybox httpd with a 1 s boot`);
    console.log('phase             seconds  requests    req/s  p50 ms  p99 ms  failed');
    for (const [name, r] of Object.entries(rows)) {
      console.log(`${name.padEnd(17)} ${String(r.seconds).padStart(7)} ${String(r.requests).padStart(9)} ${String(r.rps).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.failed).padStart(7)}`);
    }
    console.log(JSON.stringify({ bench: 'rollout', concurrency: CONCURRENCY, ...rows, bodies: [...l.bodies].sort() }));
  } finally {
    await daemon?.stop();
    for (const cmd of [
      () => docker('rm', '-f', ...docker('ps', '-aq', '--filter', `label=dispenser.instance=${instance}`).split('\n').filter(Boolean)),
      () => docker('network', 'rm', `dispenser-${instance}`),
      () => docker('rmi', '-f', `${repo}:v1`, `${repo}:v2`, `${repo}:v3`),
    ]) {
      try {
        cmd();
      } catch {
        // nothing to remove
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
