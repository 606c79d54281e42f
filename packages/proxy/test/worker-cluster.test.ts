import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { freePort } from '@dispenser/shared/testing/ports';
import { get, route, startBackend, testSettings } from './helpers.js';

// The supervisor's setup: node:cluster, SCHED_NONE, all workers on the primary's one listening
// socket (SO_REUSEPORT per worker was measured on Node 24 and not kept: see docs/internals/proxy-performance.md).
cluster.schedulingPolicy = cluster.SCHED_NONE;
cluster.setupPrimary({ exec: fileURLToPath(new URL('../src/worker.js', import.meta.url)), args: [], silent: true });

function startWorker(index: number): { w: Worker; received: Message[]; exited: Promise<number | null> } {
  const w = cluster.fork({ DISPENSER_WORKER_INDEX: String(index), DISPENSER_LOG_LEVEL: 'fatal' });
  const received: Message[] = [];
  w.on('message', (raw: unknown) => {
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const exited = new Promise<number | null>((r) => w.once('exit', (code) => r(code)));
  return { w, received, exited };
}

async function waitFor<T>(what: string, pred: () => T | undefined, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A cluster worker may miss messages sent before it is online: resend until it answers. */
async function sendUntil(w: Worker, received: Message[], msgs: Message[], done: (m: Message) => boolean): Promise<void> {
  const send = () => {
    if (w.isConnected()) for (const m of msgs) w.send(envelope(m));
  };
  const timer = setInterval(send, 200);
  try {
    await waitFor('an answer', () => received.find(done));
  } finally {
    clearInterval(timer);
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
    s.connect(port, '127.0.0.1');
  });
}

test('cluster workers share a fixed port, move together to a new one and drain', async (t) => {
  const be = await startBackend('be', (_req, res) => res.end('ok'));
  t.after(() => be.close());
  const port = await freePort();
  const workers = [startWorker(1), startWorker(2)];
  t.after(() => {
    for (const { w } of workers) if (!w.isDead()) w.process.kill('SIGKILL');
  });
  for (const { w, received } of workers) {
    await sendUntil(w, received, [
      { type: 'routes', version: 1, routes: [route('c.test', '/', be.port)] },
      { type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: port }) },
    ], (m) => m.type === 'ready');
  }
  for (let i = 0; i < 10; i++) assert.equal((await get(port, '/', { host: 'c.test' })).body, 'ok');

  const moved = await freePort();
  for (const { w } of workers) w.send(envelope({ type: 'proxy-settings', version: 2, settings: testSettings({ strategy: 'http-only', httpPort: moved }) }));
  for (const { received } of workers) await waitFor('ack v2', () => received.find((m) => m.type === 'ack' && m.kind === 'proxy-settings' && m.version === 2));
  assert.equal((await get(moved, '/', { host: 'c.test' })).body, 'ok');
  assert.equal(await refused(port), true, 'the old port is closed once every worker moved');

  for (const { w } of workers) w.send(envelope({ type: 'drain', timeoutMs: 500 }));
  for (const { exited } of workers) assert.equal(await exited, 0);
});

test('cluster worker: a port held by another process is fatal at start', async (t) => {
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.after(() => squatter.close());
  const busy = (squatter.address() as { port: number }).port;
  const { w, received, exited } = startWorker(1);
  t.after(() => {
    if (!w.isDead()) w.process.kill('SIGKILL');
  });
  await sendUntil(w, received, [{ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: busy }) }], (m) => m.type === 'fatal');
  assert.equal(await exited, 1);
  const fatal = received.find((m) => m.type === 'fatal');
  assert.ok(fatal && fatal.type === 'fatal' && /EADDRINUSE/.test(fatal.message), JSON.stringify(fatal));
});
