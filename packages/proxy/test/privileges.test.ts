import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { CAP_NET_BIND_SERVICE, excessPrivileges, parseStatus, privilegesUnavailable, type Credentials } from '../src/privileges.js';
import { get, route, startBackend, testSettings } from './helpers.js';

const NET_BIND = 1n << BigInt(CAP_NET_BIND_SERVICE);
const SETGID = 1n << 6n;

test('parseStatus reads the credential lines of /proc/<pid>/status', () => {
  const text = 'Name:\tnode\nUid:\t65534\t65534\t65534\t65534\nGroups:\t106 4242 \nCapInh:\t0000000000000440\nCapPrm:\t0000000000000440\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000040\nNoNewPrivs:\t0\n';
  assert.deepEqual(parseStatus(text), { groups: [106, 4242], capInh: 0x440n, capPrm: 0x440n, capEff: 0n, capAmb: 0x40n, noNewPrivs: false });
  // no supplementary groups: an empty field, which must not swallow the next line
  assert.deepEqual(parseStatus('Groups:\t\nCapInh:\t0000000000000000\nNoNewPrivs:\t1\n').groups, []);
});

test('excessPrivileges names whatever a worker holds beyond its due', () => {
  const clean: Credentials = { groups: [], capInh: 0n, capPrm: 0n, capEff: 0n, capAmb: 0n, noNewPrivs: true };
  assert.deepEqual(excessPrivileges(clean, 0n), []);
  assert.deepEqual(excessPrivileges({ ...clean, capPrm: NET_BIND, capEff: NET_BIND }, NET_BIND), [], 'a worker that binds itself may keep CAP_NET_BIND_SERVICE');
  assert.deepEqual(excessPrivileges({ groups: [106], capInh: 0x440n, capPrm: 0x440n, capEff: 0x440n, capAmb: 0x440n, noNewPrivs: false }, NET_BIND), [
    'supplementary groups 106',
    'capabilities 0x40',
    'inheritable capabilities 0x440',
    'ambient capabilities 0x440',
    'no_new_privs not set',
  ]);
});

// --- real processes: started as a non-root user with a supplementary group and the ambient
// capabilities the systemd unit gives the daemon (CAP_SETGID, CAP_NET_BIND_SERVICE)

const UNPRIVILEGED = ['--reuid=65534', '--regid=65534', '--groups=4242', '--inh-caps=+setgid,+net_bind_service', '--ambient-caps=+setgid,+net_bind_service'];
const workerPath = fileURLToPath(new URL('../src/worker.js', import.meta.url));
const relayPath = fileURLToPath(new URL('./fixtures/cluster-relay.js', import.meta.url));

function canRun(t: TestContext): boolean {
  if (privilegesUnavailable) {
    assert.notEqual(process.env.DISPENSER_REQUIRE_NATIVE, '1', `the privileges addon must load here: ${privilegesUnavailable}`);
    t.skip(`privileges addon unavailable: ${privilegesUnavailable}`);
    return false;
  }
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
    t.skip('needs root and util-linux setpriv to start a process with other credentials');
    return false;
  }
  return true;
}

/** A port below 1024 that nothing listens on (binding it needs CAP_NET_BIND_SERVICE). */
async function freeLowPort(exclude = 0): Promise<number> {
  for (let port = 700 + Math.floor(Math.random() * 200); port < 1024; port++) {
    if (port === exclude) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 1024');
}

/** Every thread's credentials; a thread that exited meanwhile is left out. */
function threadCredentials(pid: number): { tid: string; creds: Credentials }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return [{ tid, creds: parseStatus(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')) }];
    } catch {
      return [];
    }
  });
}

interface Started {
  child: ChildProcess;
  received: (Message | { relayWorkerPid: number })[];
  logs: Record<string, unknown>[];
  waitFor<T>(what: string, pred: () => T | undefined | false, ms?: number): Promise<T>;
  /** cluster workers may miss what arrives before they listen: resend until `done` */
  sendUntil(msgs: Message[], done: (m: Message) => boolean): Promise<void>;
  exited: Promise<number | null>;
}

function startUnprivileged(t: TestContext, script: string): Started {
  const child = spawn('setpriv', [...UNPRIVILEGED, process.execPath, script], { env: { ...process.env, DISPENSER_LOG_FORMAT: 'json', DISPENSER_WORKER_INDEX: '0' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const received: Started['received'] = [];
  child.on('message', (raw: unknown) => {
    if (raw && typeof raw === 'object' && 'relayWorkerPid' in raw) received.push(raw as { relayWorkerPid: number });
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => logs.push(JSON.parse(l)));
  const waitFor = async <T>(what: string, pred: () => T | undefined | false, ms = 8000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}; logs ${JSON.stringify(logs)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const sendUntil = async (msgs: Message[], done: (m: Message) => boolean) => {
    const send = () => { if (child.connected) for (const m of msgs) child.send(envelope(m)); };
    send();
    const timer = setInterval(send, 200);
    try {
      await waitFor('an answer', () => received.find((m) => !('relayWorkerPid' in m) && done(m)));
    } finally {
      clearInterval(timer);
    }
  };
  return { child, received, logs, waitFor, sendUntil, exited };
}

test('cluster worker started with the docker-like group and ambient CAP_SETGID+CAP_NET_BIND_SERVICE drops them all, then serves on low ports, moves and drains', async (t) => {
  if (!canRun(t)) return;
  const be = await startBackend('be', (req, res) => res.end(`done ${req.url}`));
  t.after(() => be.close());
  const port = await freeLowPort();
  const s = startUnprivileged(t, relayPath);
  const workerPid = (await s.waitFor('worker pid', () => s.received.find((m) => 'relayWorkerPid' in m)) as { relayWorkerPid: number }).relayWorkerPid;

  await s.sendUntil(
    [{ type: 'routes', version: 1, routes: [route('w.test', '/', be.port)] }, { type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: port }) }],
    (m) => m.type === 'ready',
  );

  // the supervisor stand-in keeps what the unit gives the daemon: it binds for its workers
  const primary = parseStatus(readFileSync(`/proc/${s.child.pid}/status`, 'utf8'));
  assert.deepEqual(primary.groups, [4242]);
  assert.equal(primary.capAmb, SETGID | NET_BIND);

  const status = parseStatus(readFileSync(`/proc/${workerPid}/status`, 'utf8'));
  assert.deepEqual(status, { groups: [], capInh: 0n, capPrm: 0n, capEff: 0n, capAmb: 0n, noNewPrivs: true });
  // capabilities are per thread: every helper thread drops too, except one that blocks every
  // signal (Node's SIGUSR1 watcher, which runs no JavaScript); groups go in every thread
  const threads = threadCredentials(workerPid);
  assert.ok(threads.length > 2);
  assert.deepEqual(threads.filter(({ creds }) => creds.groups.length).map(({ tid }) => tid), []);
  assert.ok(threads.filter(({ creds }) => excessPrivileges(creds, 0n).length).length <= 1, JSON.stringify(threads, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v)));
  assert.equal(s.logs.find((l) => l.code === 'PROXY_PRIVILEGES_KEPT'), undefined);

  assert.equal((await get(port, '/a', { host: 'w.test' })).body, 'done /a');

  // a reload onto another port below 1024: under node:cluster the primary opens it, so the
  // worker needs no CAP_NET_BIND_SERVICE for it
  const moved = await freeLowPort(port);
  await s.sendUntil([{ type: 'proxy-settings', version: 2, settings: testSettings({ strategy: 'http-only', httpPort: moved }) }], (m) => m.type === 'ack' && m.kind === 'proxy-settings' && m.version === 2);
  assert.equal((await get(moved, '/b', { host: 'w.test' })).body, 'done /b');
  assert.equal(s.logs.find((l) => l.code === 'PROXY_LISTEN_FAILED'), undefined);

  s.child.send(envelope({ type: 'drain', timeoutMs: 2000 }));
  assert.equal(await s.exited, 0);
});

test('forked worker (binds its own sockets) keeps only CAP_NET_BIND_SERVICE, serves on a low port', async (t) => {
  if (!canRun(t)) return;
  const be = await startBackend('be', (req, res) => res.end(`done ${req.url}`));
  t.after(() => be.close());
  const port = await freeLowPort();
  const s = startUnprivileged(t, workerPath);
  await s.sendUntil(
    [{ type: 'routes', version: 1, routes: [route('w.test', '/', be.port)] }, { type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: port }) }],
    (m) => m.type === 'ready',
  );
  const status = parseStatus(readFileSync(`/proc/${s.child.pid}/status`, 'utf8'));
  assert.deepEqual(status, { groups: [], capInh: 0n, capPrm: NET_BIND, capEff: NET_BIND, capAmb: 0n, noNewPrivs: true });
  assert.equal((await get(port, '/c', { host: 'w.test' })).body, 'done /c');
  s.child.send(envelope({ type: 'drain', timeoutMs: 2000 }));
  assert.equal(await s.exited, 0);
});
