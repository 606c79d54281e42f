import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@dispenser/shared/log';
import { assembleStatus, type Status } from '@dispenser/shared/control/status';
import type { History } from '@dispenser/shared/control/protocol';
import type { ServiceFacts } from '@dispenser/shared/control/facts';
import { DispenserError } from '@dispenser/shared/errors';
import { ControlServer, type ControlBackend } from '../../src/supervisor/control-server.js';
import type { LogsSink } from '../../src/supervisor/orchestrator-requests.js';
import { controlRequest } from '../../src/control/client.js';

function quiet() {
  const log = createLogger('supervisor');
  log.level = 'silent';
  return log;
}

const service = (state: string): ServiceFacts => ({
  name: 'web',
  image: 'r/web',
  job: false,
  container: { id: 'a', state, health: 'none', startedAt: null, exitCode: state === 'running' ? null : 1 },
  inspectError: null,
  runningDigest: null,
  availableDigest: null,
  lastDeploy: null,
  routes: [],
  cron: null,
  nextRun: null,
  certificates: [],
});

/** a backend whose status and log streams the test drives */
class FakeBackend implements ControlBackend {
  state = 'running';
  private readonly startedAt = new Date(Date.now() - 10_000);
  private looks = 0;
  readonly sinks: LogsSink[] = [];
  cancelled = 0;
  status(): Promise<Status> {
    // every look is a second later: the uptime differs each time
    const now = new Date(this.startedAt.getTime() + 10_000 + 1000 * this.looks++);
    return Promise.resolve(assembleStatus({ version: '9.9.9', pid: 1, startedAt: this.startedAt, ready: true }, { ok: true, facts: { configGeneration: 1, startedAt: this.startedAt.toISOString(), busyWith: [], services: [service(this.state)] } }, now));
  }
  logs(_params: unknown, sink: LogsSink): () => void {
    this.sinks.push(sink);
    return () => void this.cancelled++;
  }
  historyAnswer: History | Error = { entries: [], skipped: 0 };
  history(): History {
    if (this.historyAnswer instanceof Error) throw this.historyAnswer;
    return this.historyAnswer;
  }
}

function setup(t: { after(fn: () => void): void }, watchIntervalMs = 20, maxConnections?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-control-'));
  const stateDir = join(dir, '.dispenser');
  const path = join(stateDir, 'control.sock');
  const backend = new FakeBackend();
  const server = new ControlServer({ path, backend, log: quiet(), watchIntervalMs, ...(maxConnections !== undefined ? { maxConnections } : {}) });
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, stateDir, path, backend, server };
}

/** sends raw lines, collects the frames until `count` arrived */
function exchange(path: string, lines: string[], count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const got: unknown[] = [];
    let buf = '';
    s.on('error', reject);
    s.on('connect', () => s.write(lines.join('')));
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const p of parts) got.push(JSON.parse(p));
      if (got.length >= count) {
        s.destroy();
        resolve(got);
      }
    });
  });
}

const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('the socket: created 0660 in a state directory the group can reach, a stale one replaced, removed on close', async (t) => {
  const { stateDir, path, server } = setup(t);
  mkdirSync(stateDir, { mode: 0o700 });
  chmodSync(stateDir, 0o700);
  // a dead daemon's socket: bound, then its process killed before it could unlink it
  spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(lstatSync(path).isSocket(), 'stale socket in place');
  await server.listen();
  assert.equal(lstatSync(path).mode & 0o777, 0o660);
  assert.equal(lstatSync(stateDir).mode & 0o777, 0o710, 'group search bit added, nothing else');
  const [frame] = await exchange(path, ['{"v":1,"id":1,"method":"status"}\n'], 1);
  assert.equal((frame as { type: string }).type, 'result');
  server.close();
  assert.throws(() => lstatSync(path), /ENOENT/);
});

test('a file that is not a socket is never removed', async (t) => {
  const { stateDir, path, server } = setup(t);
  mkdirSync(stateDir);
  writeFileSync(path, 'precious');
  await assert.rejects(server.listen(), (err: unknown) => err instanceof DispenserError && err.code === 'CONTROL_SOCKET_FAILED' && /not a socket/.test(err.message));
  assert.ok(lstatSync(path).isFile());
});

test('requests on one connection: bad ones get an error frame with their id, good ones their answer', async (t) => {
  const { path, server } = setup(t);
  await server.listen();
  const frames = (await exchange(path, ['{"v":1,"id":"x","method":"reboot"}\n', 'garbage\n', '{"v":3,"id":4,"method":"status"}\n', '{"v":1,"id":5,"method":"status"}\n'], 4)) as Array<Record<string, unknown>>;
  assert.deepEqual(
    frames.map((f) => [f.id, f.type, (f.error as { code?: string } | undefined)?.code]),
    [
      ['x', 'error', 'CONTROL_BAD_REQUEST'],
      [null, 'error', 'CONTROL_BAD_REQUEST'],
      [4, 'error', 'CONTROL_PROTOCOL_MISMATCH'],
      [5, 'result', undefined],
    ],
  );
  const tooLong = (await exchange(path, [`{"v":1,"id":1,"method":"status","pad":"${'x'.repeat(70_000)}"}\n`], 1)) as Array<{ error: { code: string } }>;
  assert.equal(tooLong[0]?.error.code, 'CONTROL_BAD_REQUEST');
});

test('status --watch: one status now, another only when something but the uptime changes; the client leaving stops it', async (t) => {
  const { path, server, backend } = setup(t);
  await server.listen();
  const seen: Status[] = [];
  const call = controlRequest(path, 'status', { watch: true }, (s) => seen.push(s));
  await until(() => seen.length === 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen.length, 1, 'no event while nothing changed (the uptime alone does not count)');
  backend.state = 'exited';
  await until(() => seen.length === 2);
  assert.equal(seen[1]?.services?.[0]?.state, 'exited');
  assert.equal(seen[1]?.degraded, true);
  call.cancel();
  await call.done;
});

test("history: the backend's entries as the result, its failure as an error frame with its code", async (t) => {
  const { path, server, backend } = setup(t);
  await server.listen();
  backend.historyAnswer = {
    entries: [{ at: '2026-12-05T10:00:00.000Z', service: 'web', kind: 'deploy', trigger: 'reload', result: 'ok', durationMs: 5, oldDigest: null, newDigest: null }],
    skipped: 1,
  };
  const seen: History[] = [];
  await controlRequest(path, 'history', { service: 'web', limit: 5 }, (h) => seen.push(h)).done;
  assert.deepEqual(seen, [backend.historyAnswer]);
  backend.historyAnswer = new DispenserError('LEDGER_UNREADABLE', 'cannot read the deploy ledger', { hint: 'check it' });
  await assert.rejects(controlRequest(path, 'history', {}, () => undefined).done, (err: unknown) => err instanceof DispenserError && err.code === 'LEDGER_UNREADABLE');
});

test('logs: chunks in order, the end, errors with their code; a client that leaves cancels the stream', async (t) => {
  const { path, server, backend } = setup(t);
  await server.listen();
  const got: string[] = [];
  const call = controlRequest(path, 'logs', { service: 'web', follow: true }, (c) => got.push(`${c.stream}:${c.text}`));
  await until(() => backend.sinks.length === 1);
  backend.sinks[0]?.chunk('stdout', 'one\n');
  backend.sinks[0]?.chunk('stderr', 'two\n');
  backend.sinks[0]?.end();
  await call.done;
  assert.deepEqual(got, ['stdout:one\n', 'stderr:two\n']);
  assert.equal(backend.cancelled, 0, 'an ended stream is not cancelled');

  const failing = controlRequest(path, 'logs', { service: 'nope' }, () => undefined);
  await until(() => backend.sinks.length === 2);
  backend.sinks[1]?.end({ code: 'SERVICE_UNKNOWN', message: 'no service named nope is declared', hint: 'check' });
  await assert.rejects(failing.done, (err: unknown) => err instanceof DispenserError && err.code === 'SERVICE_UNKNOWN' && err.hint === 'check');

  const left = controlRequest(path, 'logs', { service: 'web', follow: true }, () => undefined);
  await until(() => backend.sinks.length === 3);
  left.cancel();
  await left.done;
  await until(() => backend.cancelled === 1);
});

test('the client: no socket is DAEMON_NOT_RUNNING; an answer in another protocol version is CONTROL_PROTOCOL_MISMATCH', async (t) => {
  const { path, stateDir } = setup(t);
  await assert.rejects(controlRequest(path, 'status', {}, () => undefined).done, (err: unknown) => err instanceof DispenserError && err.code === 'DAEMON_NOT_RUNNING');
  mkdirSync(stateDir, { recursive: true });
  const future = createServer((s) => s.end('{"v":2,"id":1,"type":"result","result":{}}\n'));
  await new Promise<void>((r) => future.listen(path, r));
  t.after(() => future.close());
  await assert.rejects(controlRequest(path, 'status', {}, () => undefined).done, (err: unknown) => err instanceof DispenserError && err.code === 'CONTROL_PROTOCOL_MISMATCH');
});

test('a client leaking connections gets no more than the cap; a freed slot serves again', async (t) => {
  const { path, server } = setup(t, 20, 5);
  await server.listen();
  const held = await Promise.all(
    Array.from({ length: 5 }, () => new Promise<Socket>((resolve, reject) => { const s = connect(path, () => resolve(s)); s.on('error', reject); })),
  );
  t.after(() => held.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 50));
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.on('error', () => resolve(true));
    s.on('close', () => resolve(true));
    s.on('data', () => resolve(false));
    s.write('{"v":1,"id":1,"method":"status"}\n');
  });
  assert.equal(refused, true, 'the connection past the cap is closed');
  held[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  const [frame] = await exchange(path, ['{"v":1,"id":1,"method":"status"}\n'], 1);
  assert.equal((frame as { type: string }).type, 'result');
});
