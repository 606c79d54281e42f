import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { get, route, startBackend, testSettings } from './helpers.js';
import { proxyWorkerExecArgv } from '../src/tuning/exec-argv.js';

const workerPath = fileURLToPath(new URL('../src/worker.js', import.meta.url));

test('forked worker: acks snapshots, reports ready once listening, drains in-flight requests, exits 0', async (t) => {
  const be = await startBackend('be', (req, res) => {
    const delay = req.url === '/slow' ? 400 : 0;
    setTimeout(() => res.end(`done ${req.url}`), delay);
  });
  t.after(() => be.close());

  // the Node flags the supervisor gives workers: this Node must accept every one of them
  const child = fork(workerPath, [], { execArgv: [...proxyWorkerExecArgv], env: { ...process.env, DISPENSER_WORKER_INDEX: '3', DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const received: Message[] = [];
  child.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => logs.push(JSON.parse(l)));
  const waitFor = async <T>(what: string, pred: () => T | undefined, ms = 5000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const send = (m: Message) => child.send(envelope(m));

  send({ type: 'routes', version: 5, routes: [route('w.test', '/', be.port)] });
  await waitFor('routes ack', () => received.find((m) => m.type === 'ack' && m.kind === 'routes' && m.version === 5));
  // not of this protocol: ignored, the worker keeps going (field validation is the supervisor's:
  // it relays only messages that passed parseMessage, see envelope.ts)
  child.send({ dispenser: 1, msg: { type: 'reroute-everything' } });
  child.send({ dispenser: 2, msg: { type: 'routes', version: 6, routes: [] } });
  send({ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only' }) });
  const ready = await waitFor('ready', () => received.find((m) => m.type === 'ready'));
  assert.deepEqual(ready, { type: 'ready', component: 'proxy', worker: 3 });
  assert.ok(received.find((m) => m.type === 'ack' && m.kind === 'proxy-settings' && m.version === 1 && m.worker === 3));
  const listening = await waitFor('listening log', () => logs.find((l) => l.msg === 'proxy worker listening'));
  const port = Number(listening.http);
  assert.equal(listening.component, 'proxy');

  assert.equal(execFileSync('ps', ['-o', 'args=', '-p', String(child.pid)]).toString().trim(), 'dispenser: proxy worker 3');
  assert.equal((await get(port, '/fast', { host: 'w.test' })).body, 'done /fast');

  // an older routes snapshot is ignored (no ack), the table stays
  send({ type: 'routes', version: 4, routes: [] });
  send({ type: 'challenges', version: 1, tokens: {} });
  await waitFor('challenges ack', () => received.find((m) => m.type === 'ack' && m.kind === 'challenges'));
  assert.equal(received.filter((m) => m.type === 'ack' && m.kind === 'routes').length, 1);
  assert.equal((await get(port, '/fast', { host: 'w.test' })).status, 200);

  const slow = get(port, '/slow', { host: 'w.test' });
  await waitFor('slow request at the backend', () => be.seen.find((s) => s.url === '/slow'));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  send({ type: 'drain', timeoutMs: 3000 });
  const r = await slow;
  assert.equal(r.status, 200, 'the in-flight request finished during the drain');
  assert.equal(r.body, 'done /slow');
  assert.equal(await exited, 0);
  await assert.rejects(get(port, '/fast', { host: 'w.test' }), 'no longer accepting');
});

test('forked worker: drain deadline cuts a request that takes too long, still exits 0', async (t) => {
  const be = await startBackend('be', () => undefined);
  t.after(() => be.close());
  const child = fork(workerPath, [], { env: { ...process.env, DISPENSER_WORKER_INDEX: '0', DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let port = 0;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const j = JSON.parse(l);
    if (j.msg === 'proxy worker listening') port = j.http;
  });
  child.send(envelope({ type: 'routes', version: 1, routes: [route('w.test', '/', be.port)] }));
  child.send(envelope({ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only' }) }));
  while (!port) await new Promise((r) => setTimeout(r, 10));
  const hanging = get(port, '/', { host: 'w.test' }).catch((e: Error) => e);
  while (!be.seen.length) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.send(envelope({ type: 'drain', timeoutMs: 300 }));
  assert.equal(await exited, 0);
  assert.ok(Date.now() - started < 2000);
  assert.ok((await hanging) instanceof Error);
});
