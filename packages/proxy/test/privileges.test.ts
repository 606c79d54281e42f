import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { excessPrivileges, keptReason, parseStatus, workerPrivilegesKept, type Credentials } from '../src/privileges.js';
import { get, route, startBackend, testSettings } from './helpers.js';

const NET_BIND = 1n << 10n;
const SETGID = 1n << 6n;

test('parseStatus reads the credential lines of /proc/<pid>/status', () => {
  const text = 'Name:\tnode\nUid:\t65534\t65534\t65534\t65534\nGroups:\t106 4242 \nCapInh:\t0000000000000440\nCapPrm:\t0000000000000440\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000040\nNoNewPrivs:\t0\n';
  assert.deepEqual(parseStatus(text), { groups: [106, 4242], capInh: 0x440n, capPrm: 0x440n, capEff: 0n, capAmb: 0x40n });
  // no supplementary groups: an empty field, which must not swallow the next line
  assert.deepEqual(parseStatus('Groups:\t\nCapInh:\t0000000000000000\nNoNewPrivs:\t1\n').groups, []);
});

test('excessPrivileges names whatever a worker holds (its due is nothing), keptReason the likely cause', () => {
  const clean: Credentials = { groups: [], capInh: 0n, capPrm: 0n, capEff: 0n, capAmb: 0n };
  assert.deepEqual(excessPrivileges(clean), []);
  assert.deepEqual(excessPrivileges({ groups: [106], capInh: 0x440n, capPrm: 0x440n, capEff: NET_BIND, capAmb: 0x440n }), [
    'supplementary groups 106',
    'capabilities 0x440',
    'inheritable capabilities 0x440',
    'ambient capabilities 0x440',
  ]);
  assert.match(keptReason({ ...clean, capPrm: ~0n }, 0, true), /running as root/);
  assert.match(keptReason({ ...clean, groups: [106] }, 1000, false), /not started by the dispenser supervisor/);
  assert.match(keptReason({ ...clean, groups: [106] }, 1000, true), /lacks CAP_SETGID/);
  assert.match(keptReason({ ...clean, capPrm: SETGID, capEff: SETGID }, 1000, true), /could not clear its ambient capabilities/);
  assert.equal(workerPrivilegesKept(true, () => 'Groups:\t\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapAmb:\t0\n'), undefined);
  assert.deepEqual(workerPrivilegesKept(true, () => { throw new Error('EACCES'); })?.kept, ['unknown']);
});

// The supervisor's side (it starts workers without groups or capabilities) is tested in
// packages/cli/test/supervisor/privileges.test.ts. Here: a worker that did not get that says so and serves.
test('a worker started with a group and capabilities (a plain fork as a non-root user) warns PROXY_PRIVILEGES_KEPT once and serves', { timeout: 30_000 }, async (t) => {
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
    t.skip('needs root and util-linux setpriv to start a process with other credentials');
    return;
  }
  const be = await startBackend('be', (req, res) => res.end(`done ${req.url}`));
  t.after(() => be.close());
  const workerPath = fileURLToPath(new URL('../src/worker.js', import.meta.url));
  const setpriv = ['--reuid=65534', '--regid=65534', '--groups=4242', '--inh-caps=+net_bind_service', '--ambient-caps=+net_bind_service'];
  const child = spawn('setpriv', [...setpriv, process.execPath, workerPath], { env: { ...process.env, DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => logs.push(JSON.parse(l) as Record<string, unknown>));
  const received: Message[] = [];
  child.on('message', (raw: unknown) => { const m = parseMessage(raw); if (m) received.push(m); });
  child.send(envelope({ type: 'routes', version: 1, routes: [route('w.test', '/', be.port)] }));
  // a low port: a plain fork binds its own sockets, with the CAP_NET_BIND_SERVICE it was given
  const port = await freeLowPort();
  child.send(envelope({ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: port }) }));
  const until = Date.now() + 8000;
  while (!received.some((m) => m.type === 'ready')) {
    if (Date.now() > until) throw new Error(`no ready; got ${JSON.stringify(received)}; logs ${JSON.stringify(logs)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const kept = logs.filter((l) => l.code === 'PROXY_PRIVILEGES_KEPT');
  assert.equal(kept.length, 1, JSON.stringify(logs));
  assert.equal(kept[0]!.level, 40, 'warn');
  assert.deepEqual(kept[0]!.kept, ['supplementary groups 4242', `capabilities 0x${NET_BIND.toString(16)}`, `inheritable capabilities 0x${NET_BIND.toString(16)}`, `ambient capabilities 0x${NET_BIND.toString(16)}`]);
  assert.match(String(kept[0]!.reason), /not started by the dispenser supervisor/);
  assert.equal((await get(port, '/c', { host: 'w.test' })).body, 'done /c');
  child.send(envelope({ type: 'drain', timeoutMs: 2000 }));
  assert.equal(await exited, 0);
});

/** A port below 1024 that nothing listens on. */
async function freeLowPort(): Promise<number> {
  for (let port = 700 + Math.floor(Math.random() * 200); port < 1024; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 1024');
}
