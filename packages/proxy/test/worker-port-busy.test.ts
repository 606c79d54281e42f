import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { get, route, startBackend, startProxy, testSettings } from './helpers.js';

const workerPath = fileURLToPath(new URL('../src/worker.js', import.meta.url));

async function busyPort(t: { after(fn: () => void): void }): Promise<number> {
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.after(() => squatter.close());
  return (squatter.address() as { port: number }).port;
}

test('settings that cannot be applied leave the previous settings and listener in place', async (t) => {
  const busy = await busyPort(t);
  const w = await startProxy({ strategy: 'http-only', shutdownTimeoutMs: 1234 });
  t.after(() => void w.drain(0));
  const port = w.listeners.httpPort!;
  await assert.rejects(w.apply({ type: 'proxy-settings', version: 2, settings: testSettings({ strategy: 'http-only', httpPort: busy, shutdownTimeoutMs: 999 }) }), /EADDRINUSE/);
  assert.equal(w.listeners.httpPort, port);
  assert.equal(w.state.settings.shutdownTimeoutMs, 1234, 'the settings in effect are the previous ones');
});

test('forked worker: a reload onto a busy port is an error, not fatal; the worker keeps serving', async (t) => {
  const be = await startBackend('be', (_req, res) => res.end('ok'));
  t.after(() => be.close());
  const busy = await busyPort(t);
  const child = fork(workerPath, [], { env: { ...process.env, DISPENSER_WORKER_INDEX: '1', DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const received: Message[] = [];
  child.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => logs.push(JSON.parse(l) as Record<string, unknown>));
  const waitFor = async <T>(what: string, pred: () => T | undefined): Promise<T> => {
    const until = Date.now() + 5000;
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  child.send(envelope({ type: 'routes', version: 1, routes: [route('w.test', '/', be.port)] }));
  child.send(envelope({ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only' }) }));
  const listening = await waitFor('listening', () => logs.find((l) => l.msg === 'proxy worker listening'));
  const port = Number(listening.http);

  child.send(envelope({ type: 'proxy-settings', version: 2, settings: testSettings({ strategy: 'http-only', httpPort: busy }) }));
  const err = await waitFor('error line', () => logs.find((l) => l.code === 'PROXY_LISTEN_FAILED'));
  assert.equal(err.level, 50);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, 'still running');
  assert.equal(received.filter((m) => m.type === 'fatal').length, 0);
  assert.equal(received.filter((m) => m.type === 'ack' && m.kind === 'proxy-settings' && m.version === 2).length, 0, 'not acknowledged: not in effect');
  assert.equal((await get(port, '/', { host: 'w.test' })).body, 'ok');
});

test('forked worker: a busy port at start is still fatal', async (t) => {
  const busy = await busyPort(t);
  const child = fork(workerPath, [], { env: { ...process.env, DISPENSER_WORKER_INDEX: '1', DISPENSER_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const received: Message[] = [];
  child.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (msg) received.push(msg);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.send(envelope({ type: 'proxy-settings', version: 1, settings: testSettings({ strategy: 'http-only', httpPort: busy }) }));
  assert.equal(await exited, 1);
  assert.equal(received.find((m) => m.type === 'fatal')?.type, 'fatal');
});
