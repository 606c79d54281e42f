import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProxySettings } from '@dispenser/shared/config/types';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { ambientCapsUnavailable, parseStatus, type Credentials } from '@dispenser/proxy/privileges';
import { childEntries } from '../../src/supervisor/entries.js';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';

// The supervisor's part in keeping proxy workers unprivileged (docs/operations.md,
// Privileges), with real processes: a stand-in running the real supervisor code
// (clearChildCapabilities, forkProxyWorker, forkOrchestrator) started as a non-root user with a
// supplementary group and the ambient capabilities the systemd unit gives the daemon.

const CAP_SETGID = 1n << 6n;
const CAP_NET_BIND_SERVICE = 1n << 10n;
const GROUP = 4242;
const SETPRIV = ['--reuid=65534', '--regid=65534', `--groups=${GROUP}`, '--inh-caps=+setgid,+net_bind_service', '--ambient-caps=+setgid,+net_bind_service'];
const standIn = fileURLToPath(new URL('../fixtures/supervisor-stand-in.js', import.meta.url));
const idleChild = fileURLToPath(new URL('../fixtures/idle-child.js', import.meta.url));

function canRun(t: TestContext): boolean {
  if (ambientCapsUnavailable) {
    assert.notEqual(process.env.DISPENSER_REQUIRE_NATIVE, '1', `the ambient-caps addon must load here: ${ambientCapsUnavailable}`);
    t.skip(`ambient-caps addon unavailable: ${ambientCapsUnavailable}`);
    return false;
  }
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
    t.skip('needs root and util-linux setpriv to start a process with other credentials');
    return false;
  }
  return true;
}

const status = (path: string): Credentials => parseStatus(readFileSync(path, 'utf8'));
const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));

/** Every thread's credentials (a thread that exited meanwhile is left out). */
function threads(pid: number): { tid: string; creds: Credentials }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return [{ tid, creds: status(`/proc/${pid}/task/${tid}/status`) }];
    } catch {
      return [];
    }
  });
}

/** A port below 1024 that nothing listens on (binding it needs CAP_NET_BIND_SERVICE). */
async function freeLowPort(exclude = 0): Promise<number> {
  for (let port = 700 + Math.floor(Math.random() * 200); port < 1024; port++) {
    if (port === exclude) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createNetServer().once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 1024');
}

function get(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function settings(httpPort: number): ProxySettings {
  return testProxySettings({ strategy: 'http-only', httpPort, httpsPort: 0, bind: '127.0.0.1', connectTimeoutMs: 2_000, upstreamTimeoutMs: 5_000, shutdownTimeoutMs: 2_000 });
}

function startStandIn(t: TestContext, mode: 'worker' | 'orchestrator', entry: string) {
  const child = spawn('setpriv', [...SETPRIV, process.execPath, standIn, mode, entry], {
    env: { ...process.env, DISPENSER_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const received: Message[] = [];
  let childPid: number | undefined;
  child.on('message', (raw: unknown) => {
    if (raw && typeof raw === 'object' && 'standInChildPid' in raw) {
      childPid = (raw as { standInChildPid: number }).standInChildPid;
      // the stand-in's own child must not outlive the test either (it would hold the stdout pipe)
      const pid = childPid;
      t.after(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ } });
    }
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      logs.push({ raw: l });
    }
  });
  const waitFor = async <T>(what: string, pred: () => T | undefined | false, ms = 8000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}; logs ${JSON.stringify(logs)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** a cluster worker may miss what arrives before it listens to IPC: resend until `done` */
  const sendUntil = async (msgs: Message[], done: (m: Message) => boolean): Promise<void> => {
    const send = () => { if (child.connected) for (const m of msgs) child.send(envelope(m)); };
    send();
    const timer = setInterval(send, 200);
    try {
      await waitFor('an answer', () => received.find(done));
    } finally {
      clearInterval(timer);
    }
  };
  return { child, exited, received, logs, waitFor, sendUntil, childPid: () => waitFor('the child pid', () => childPid) };
}

/** The stand-in keeps what the unit gives the daemon, minus the ambient set it cleared. */
function assertSupervisorKept(pid: number): void {
  const sup = status(`/proc/${pid}/status`);
  assert.deepEqual(sup.groups, [GROUP]);
  assert.equal(sup.capEff & CAP_NET_BIND_SERVICE, CAP_NET_BIND_SERVICE, 'the supervisor binds ports below 1024 for its workers');
  assert.equal(sup.capEff & CAP_SETGID, CAP_SETGID, 'the supervisor drops the workers\' groups');
  assert.equal(sup.capAmb, 0n, show(sup));
  assert.equal(sup.capInh, 0n, show(sup));
}

test('a proxy worker forked by the supervisor from a unit-like start holds no group and no capability in any thread, serves on low ports, moves and drains', { timeout: 30_000 }, async (t) => {
  if (!canRun(t)) return;
  const backend: Server = createServer((req, res) => res.end(`done ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => { backend.closeAllConnections(); backend.close(); });
  const backendPort = (backend.address() as AddressInfo).port;
  const port = await freeLowPort();
  const s = startStandIn(t, 'worker', childEntries().proxyWorker);
  const workerPid = await s.childPid();
  const routes: Message = { type: 'routes', version: 1, routes: [{ service: 'w', host: 'w.test', path: '/', upstream: { host: '127.0.0.1', port: backendPort } }] };
  await s.sendUntil([routes, { type: 'proxy-settings', version: 1, settings: settings(port) }], (m) => m.type === 'ready');

  assertSupervisorKept(s.child.pid!);
  // capabilities are per thread: check each one (V8 platform, libuv pool, the SIGUSR1 watcher ...)
  const all = threads(workerPid);
  assert.ok(all.length > 3, `expected Node's helper threads, got ${all.length}`);
  const clean: Credentials = { groups: [], capInh: 0n, capPrm: 0n, capEff: 0n, capAmb: 0n };
  for (const { tid, creds } of all) assert.deepEqual(creds, clean, `worker thread ${tid}: ${show(creds)}`);
  assert.equal(s.logs.find((l) => l.code === 'PROXY_PRIVILEGES_KEPT'), undefined, show(s.logs));
  assert.equal(s.logs.find((l) => l.code === 'SUPERVISOR_CAPABILITIES_INHERITED'), undefined, show(s.logs));

  assert.equal(await get(port, '/a', 'w.test'), 'done /a');
  // a reload onto another port below 1024: under node:cluster the primary (the stand-in) opens it
  const moved = await freeLowPort(port);
  await s.sendUntil([{ type: 'proxy-settings', version: 2, settings: settings(moved) }], (m) => m.type === 'ack' && m.kind === 'proxy-settings' && m.version === 2);
  assert.equal(await get(moved, '/b', 'w.test'), 'done /b');
  assert.equal(s.logs.find((l) => l.code === 'PROXY_LISTEN_FAILED'), undefined, show(s.logs));

  s.child.send(envelope({ type: 'drain', timeoutMs: 2000 }));
  assert.equal(await s.exited, 0);
});

test('the orchestrator forked by the supervisor keeps the group (Docker access) but no capability', { timeout: 30_000 }, async (t) => {
  if (!canRun(t)) return;
  const s = startStandIn(t, 'orchestrator', idleChild);
  const pid = await s.childPid();
  await s.waitFor('the child to be ready', () => s.received.find((m) => m.type === 'ready'));
  assertSupervisorKept(s.child.pid!);
  for (const { tid, creds } of threads(pid)) {
    assert.deepEqual(creds, { groups: [GROUP], capInh: 0n, capPrm: 0n, capEff: 0n, capAmb: 0n }, `orchestrator thread ${tid}: ${show(creds)}`);
  }
  s.child.kill('SIGTERM');
  await s.exited;
});
