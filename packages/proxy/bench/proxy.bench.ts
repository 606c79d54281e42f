/**
 * The Dispenser proxy (a node:cluster of proxy workers with SCHED_NONE, default worker count)
 * against nginx and Caddy as reverse proxies in front of the same nginx backend, interleaved per
 * workload. Prints a table: requests/s, p50, p99, RSS under load, ratios to each reference.
 *
 *   node packages/proxy/dist/bench/proxy.bench.js [--duration 5] [--only http-1k-64,h2-1k-64]
 *     [--proxies nginx,caddy,dispenser] [--workers N] [--backend-tcp-nopush on|off]
 *     [--tuning-off node-flags,quick-ack,malloc-trim,scavenge-pacer]
 *
 * CPU wait: the share of the proxy's runnable time spent waiting for a CPU taken by other work.
 * Needs nginx, caddy, wrk, h2load, openssl (Debian packages); a missing tool skips what needs it.
 */
import cluster, { type Worker } from 'node:cluster';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { proxyWorkerExecArgv } from '../src/tuning/exec-argv.js';
import { TUNING_OFF_ENV } from '../src/tuning/switches.js';
import { freePort, waitPort } from '@dispenser/shared/testing/ports';
import { which } from '@dispenser/shared/testing/tools';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DURATION = Number(opt('duration', '5'));
const ONLY = opt('only', '');
/** comma-separated subset of nginx,caddy,dispenser (profiling runs) */
const PROXIES = opt('proxies', 'nginx,caddy,dispenser').split(',');
/** the backend's tcp_nopush (Debian's default nginx.conf has it on); see docs/internals/proxy-performance.md, Against the target, on 64 KB tails */
const BACKEND_NOPUSH = opt('backend-tcp-nopush', 'on') === 'off' ? 'off' : 'on';
/**
 * tuning pieces to turn off in the Dispenser workers, to measure what each pays (see
 * docs/internals/proxy-performance.md): `node-flags` starts them without proxyWorkerExecArgv, the
 * others are passed on to the workers (tuning/switches.ts)
 */
const TUNING_OFF = opt('tuning-off', '').split(',').filter(Boolean);
const HOST = 'bench.test';
// (memory columns are PSS, see memOf)



/** The given pids and their children (a proxy's master and workers). */
function withChildren(pids: number[]): Set<number> {
  const all = new Set<number>(pids);
  for (const pid of pids) {
    try {
      for (const k of execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().trim().split(/\s+/).filter(Boolean)) all.add(Number(k));
    } catch {
      /* no children */
    }
  }
  return all;
}

/**
 * Memory in bytes of the given pids plus their children, as PSS: pages shared between processes
 * (the node or nginx binary mapped by every worker) are divided among them instead of being
 * counted once per process as RSS would.
 */
function memOf(pids: number[]): number {
  const all = withChildren(pids);
  let total = 0;
  for (const pid of all) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      /* exited */
    }
  }
  return total;
}

/**
 * user+system CPU seconds and minor page faults of the given pids plus their children (threads
 * included). Page faults per request move little with other load on the machine, unlike CPU
 * time: they show heap memory handed back to the kernel and faulted in again (glibc's trim
 * threshold, docs/internals/proxy-performance.md, change 2).
 */
function cpuOf(pids: number[]): { cpu: number; faults: number } {
  const all = withChildren(pids);
  let ticks = 0;
  let faults = 0;
  for (const pid of all) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      faults += Number(fields[7]);
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* exited */
    }
  }
  return { cpu: ticks / 100, faults };
}

/**
 * Seconds the threads of the given pids plus their children spent runnable but waiting for a CPU
 * (`/proc/<pid>/task/<tid>/schedstat`, second field). On a shared machine this tells a proxy that
 * was starved of CPU by other work from one that was slow: the ratios of a run where one proxy
 * waited far longer than the other say more about the machine than about the proxies.
 */
function cpuWaitOf(pids: number[]): number {
  const all = withChildren(pids);
  let ns = 0;
  for (const pid of all) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      /* exited */
    }
  }
  return ns / 1e9;
}

interface Target {
  name: string;
  httpPort: number;
  httpsPort: number;
  /** processes whose RSS counts (the proxy's own, not the bench's) */
  pids: () => number[];
  stop: () => Promise<void>;
}

const work = mkdtempSync(join(tmpdir(), 'dispenser-proxy-bench-'));
// nginx workers run as an unprivileged user and must read the files it serves
chmodSync(work, 0o755);
const children: ChildProcess[] = [];

function startProcess(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const p = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  p.on('exit', (code) => {
    if (code && !stopping) console.error(`${cmd} exited ${code}: ${err.slice(-500)}`);
  });
  children.push(p);
  return p;
}
let stopping = false;

function nginxConf(body: string, workers: string): string {
  return `worker_processes ${workers};
pid ${work}/nginx-${Math.random().toString(36).slice(2)}.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${work}/tmp; proxy_temp_path ${work}/tmp; fastcgi_temp_path ${work}/tmp; uwsgi_temp_path ${work}/tmp; scgi_temp_path ${work}/tmp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
${body}
}
`;
}

/** A proxy that is one child process (and its workers): measured by its pid, stopped with SIGTERM. */
function processTarget(name: string, p: ChildProcess, httpPort: number, httpsPort: number): Target {
  return {
    name,
    httpPort,
    httpsPort,
    pids: () => (p.pid ? [p.pid] : []),
    stop: async () => {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    },
  };
}

async function startNginx(name: string, body: string, workers: string, httpPort: number, httpsPort: number): Promise<Target> {
  const conf = join(work, `${name}.conf`);
  writeFileSync(conf, nginxConf(body, workers));
  const p = startProcess('nginx', ['-c', conf, '-p', work, '-e', 'stderr', '-g', 'daemon off;']);
  await waitPort(httpPort);
  return processTarget(name, p, httpPort, httpsPort);
}

async function startCaddy(backend: number, httpPort: number, httpsPort: number, cert: string, key: string): Promise<Target> {
  const file = join(work, 'Caddyfile');
  writeFileSync(
    file,
    `{
  admin off
  auto_https off
  storage file_system ${work}/caddy
}
http://:${httpPort} {
  reverse_proxy 127.0.0.1:${backend}
}
https://:${httpsPort} {
  tls ${cert} ${key}
  reverse_proxy 127.0.0.1:${backend}
}
`,
  );
  const env = { ...process.env, HOME: work, XDG_DATA_HOME: join(work, 'xdg-data'), XDG_CONFIG_HOME: join(work, 'xdg-config') };
  const p = startProcess('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], env);
  await waitPort(httpPort);
  await waitPort(httpsPort);
  return processTarget('caddy', p, httpPort, httpsPort);
}

async function startDispenser(backend: number, httpPort: number, httpsPort: number, certPem: string, keyPem: string): Promise<Target> {
  const workerCount = Number(opt('workers', String(availableParallelism())));
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // DISPENSER_BENCH_WORKER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the workers
  const flags = TUNING_OFF.includes('node-flags') ? [] : proxyWorkerExecArgv;
  const extra = [...flags, ...(process.env.DISPENSER_BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean)];
  cluster.setupPrimary({ exec: fileURLToPath(new URL('../src/worker.js', import.meta.url)), args: [], execArgv: extra, silent: false });
  const workers: Worker[] = [];
  const snapshots: Message[] = [
    { type: 'routes', version: 1, routes: [{ service: 'bench', host: HOST, path: '/', upstream: { host: '127.0.0.1', port: backend } }] },
    { type: 'certs', version: 1, certs: [{ hosts: [HOST, '127.0.0.1'], certPem, keyPem }] },
    {
      type: 'proxy-settings',
      version: 1,
      settings: testProxySettings({ strategy: 'both', httpPort, httpsPort, bind: '127.0.0.1', workers: workerCount, shutdownTimeoutMs: 1000 }),
    },
  ];
  await Promise.all(
    Array.from({ length: workerCount }, (_, i) => {
      const w = cluster.fork({ DISPENSER_WORKER_INDEX: String(i + 1), DISPENSER_LOG_LEVEL: 'warn', DISPENSER_LOG_FORMAT: 'json', [TUNING_OFF_ENV]: TUNING_OFF.join(',') });
      workers.push(w);
      return new Promise<void>((resolve, reject) => {
        // a cluster worker may miss messages sent before it is online: resend until it answers
        const timer = setInterval(() => {
          for (const s of snapshots) w.send(envelope(s));
        }, 200);
        w.on('message', (raw: unknown) => {
          const msg = parseMessage(raw);
          if (msg?.type === 'ready') {
            clearInterval(timer);
            resolve();
          }
          if (msg?.type === 'fatal') reject(new Error(msg.message));
        });
        w.on('online', () => {
          for (const s of snapshots) w.send(envelope(s));
        });
      });
    }),
  );
  return {
    name: `dispenser(${workerCount}w)`,
    httpPort,
    httpsPort,
    pids: () => workers.map((w) => w.process.pid!).filter(Boolean),
    stop: async () => {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((r) => {
              w.once('exit', () => r());
              w.send(envelope({ type: 'drain', timeoutMs: 500 }));
            }),
        ),
      );
    },
  };
}

interface Result {
  rps: number;
  /** requests completed in the measured run */
  requests: number;
  /** proxy CPU time per request: robust against other load on the machine, unlike req/s */
  cpuUs: number;
  /** share of the proxy's runnable time spent waiting for a CPU (other work on the machine) */
  cpuWait: number;
  /** minor page faults of the proxy per request */
  faults: number;
  p50: number;
  p99: number;
  rss: number;
  errors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

type LoadResult = Omit<Result, 'rss' | 'cpuUs' | 'cpuWait' | 'faults'>;

async function measure(target: Target, load: () => Promise<LoadResult>): Promise<Result> {
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, memOf(target.pids()))), 500);
  try {
    const cpu0 = cpuOf(target.pids());
    const wait0 = cpuWaitOf(target.pids());
    const r = await load();
    const cpu1 = cpuOf(target.pids());
    const cpu = cpu1.cpu - cpu0.cpu;
    const wait = cpuWaitOf(target.pids()) - wait0;
    const requests = Math.max(1, r.requests);
    return { ...r, rss, cpuUs: (cpu * 1e6) / requests, cpuWait: wait / Math.max(1e-9, wait + cpu), faults: (cpu1.faults - cpu0.faults) / requests };
  } finally {
    clearInterval(sampler);
  }
}

async function wrk(url: string, conns: number): Promise<LoadResult> {
  const out = await run('wrk', ['-t2', `-c${conns}`, `-d${DURATION}s`, '--latency', '-H', `Host: ${HOST}`, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps, requests, p50, p99, errors };
}

async function h2load(port: number, path: string, conns: number): Promise<LoadResult> {
  const log = join(work, `h2load-${port}.log`);
  rmSync(log, { force: true });
  const out = await run('h2load', ['-c', String(conns), '-m', '10', '-t', '2', '-D', String(DURATION), '--warm-up-time=1', `--connect-to=127.0.0.1:${port}`, `--log-file=${log}`, `https://${HOST}${path}`]);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const failed = Number(/requests: .* (\d+) failed/.exec(out)?.[1] ?? 0);
  const non2xx = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const lat = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split('\t')[2]) / 1000)
        .sort((a, b) => a - b)
    : [];
  const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! : NaN);
  if (!Number.isFinite(rps)) throw new Error(`h2load output not understood:\n${out}`);
  const requests = Number(/requests: (\d+) total/.exec(out)?.[1] ?? 0);
  return { rps, requests, p50: pct(0.5), p99: pct(0.99), errors: failed + (non2xx ? Number(non2xx[3]) + Number(non2xx[4]) : 0) };
}

interface Workload {
  id: string;
  label: string;
  tool: 'wrk' | 'h2load';
  load: (t: Target) => Promise<LoadResult>;
}

const workloads: Workload[] = [
  { id: 'http-1k-64', label: 'HTTP/1.1 1 KB 64 conns', tool: 'wrk', load: (t) => wrk(`http://127.0.0.1:${t.httpPort}/1k.bin`, 64) },
  { id: 'http-1k-256', label: 'HTTP/1.1 1 KB 256 conns', tool: 'wrk', load: (t) => wrk(`http://127.0.0.1:${t.httpPort}/1k.bin`, 256) },
  { id: 'http-64k-64', label: 'HTTP/1.1 64 KB 64 conns', tool: 'wrk', load: (t) => wrk(`http://127.0.0.1:${t.httpPort}/64k.bin`, 64) },
  { id: 'http-64k-256', label: 'HTTP/1.1 64 KB 256 conns', tool: 'wrk', load: (t) => wrk(`http://127.0.0.1:${t.httpPort}/64k.bin`, 256) },
  { id: 'https-1k-64', label: 'HTTPS/1.1 1 KB 64 conns', tool: 'wrk', load: (t) => wrk(`https://127.0.0.1:${t.httpsPort}/1k.bin`, 64) },
  { id: 'h2-1k-64', label: 'HTTP/2 TLS 1 KB 64c×10', tool: 'h2load', load: (t) => h2load(t.httpsPort, '/1k.bin', 64) },
];

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  for (const tool of ['nginx', 'wrk', 'openssl']) {
    if (!which(tool)) {
      console.log(`proxy bench skipped: ${tool} is not installed`);
      return;
    }
  }
  const haveCaddy = which('caddy');
  const haveH2load = which('h2load');
  execFileSync('mkdir', ['-p', join(work, 'tmp'), join(work, 'www'), join(work, 'logs')]);
  writeFileSync(join(work, 'www', '1k.bin'), Buffer.alloc(1024, 'a'));
  writeFileSync(join(work, 'www', '64k.bin'), Buffer.alloc(64 * 1024, 'b'));
  const cert = join(work, 'cert.pem');
  const key = join(work, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-keyout', key, '-out', cert, '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST},IP:127.0.0.1`], { stdio: 'ignore' });

  const backendPort = await freePort();
  const backend = await startNginx('backend', `  sendfile on; tcp_nopush ${BACKEND_NOPUSH};\n  server { listen 127.0.0.1:${backendPort}; root ${work}/www; }`, 'auto', backendPort, 0);
  const targets: Target[] = [];
  const np = await freePort();
  const nps = await freePort();
  if (PROXIES.includes('nginx')) targets.push(
    await startNginx(
      'nginx',
      `  upstream be { server 127.0.0.1:${backendPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${np};
    listen 127.0.0.1:${nps} ssl http2;
    ssl_certificate ${cert}; ssl_certificate_key ${key};
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-Proto $scheme;
    }
  }`,
      'auto',
      np,
      nps,
    ),
  );
  if (haveCaddy && PROXIES.includes('caddy')) targets.push(await startCaddy(backendPort, await freePort(), await freePort(), cert, key));
  if (PROXIES.includes('dispenser')) targets.push(await startDispenser(backendPort, await freePort(), await freePort(), readFileSync(cert, 'utf8'), readFileSync(key, 'utf8')));

  const results = new Map<string, Map<string, Result>>();
  const selected = workloads.filter((w) => (!ONLY || ONLY.split(',').includes(w.id)) && (w.tool !== 'h2load' || haveH2load));
  console.log(`proxy bench: ${selected.length} workloads × ${targets.length} proxies × ${DURATION}s, backend nginx on :${backendPort} (tcp_nopush ${BACKEND_NOPUSH}), ${availableParallelism()} CPUs${TUNING_OFF.length ? `, Dispenser tuning off: ${TUNING_OFF.join(',')}` : ''}`);
  for (const [i, w] of selected.entries()) {
    const row = new Map<string, Result>();
    results.set(w.id, row);
    // rotate the order per workload so no proxy always runs first (or last, on a warmer machine)
    const order = targets.map((_, k) => targets[(k + i) % targets.length]!);
    for (const t of order) {
      // a short warm-up so JITs, TLS session caches and upstream pools are in their steady state
      if (w.tool === 'wrk') await run('wrk', ['-t1', '-c16', '-d1s', '-H', `Host: ${HOST}`, w.id.startsWith('https') ? `https://127.0.0.1:${t.httpsPort}/1k.bin` : `http://127.0.0.1:${t.httpPort}/1k.bin`]);
      const r = await measure(t, () => w.load(t));
      row.set(t.name, r);
      process.stdout.write(`  ${w.label.padEnd(26)} ${t.name.padEnd(16)} ${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  ${fmt(r.rss / 2 ** 20)} MB  ${fmt(r.cpuUs)} µs CPU/req  CPU wait ${fmt(r.cpuWait * 100)} %  ${fmt(r.faults, 1)} faults/req${r.errors ? `  errors ${r.errors}` : ''}\n`);
    }
  }

  const names = targets.map((t) => t.name);
  const ours = names.find((n) => n.startsWith('dispenser')) ?? '';
  const refs = names.filter((n) => n !== ours);
  console.log('\n| workload | proxy | req/s | p50 ms | p99 ms | PSS MB | CPU µs/req | CPU wait | errors |' + refs.map((r) => ` req/s vs ${r} | p99 vs ${r} |`).join(''));
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|' + refs.map(() => '---:|---:|').join(''));
  for (const w of selected) {
    const row = results.get(w.id)!;
    for (const n of names) {
      const r = row.get(n)!;
      const ratios = refs.map((ref) => {
        const o = row.get(ref)!;
        return n === ours ? ` ${fmt(r.rps / o.rps, 2)}× | ${fmt(r.p99 / o.p99, 2)}× |` : ' | |';
      });
      console.log(`| ${w.label} | ${n} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rss / 2 ** 20)} | ${fmt(r.cpuUs)} | ${fmt(r.cpuWait * 100)} % | ${r.errors} |${ratios.join('')}`);
    }
  }
  stopping = true;
  for (const t of targets) await t.stop();
  await backend.stop();
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const id in cluster.workers) cluster.workers[id]?.process.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
