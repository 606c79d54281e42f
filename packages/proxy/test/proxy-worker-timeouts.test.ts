import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxySettings } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { ProxyWorker } from '../src/proxy-worker.js';
import { captureLog, type CapturedLine } from '@dispenser/shared/testing/log';
import { get, h2get, h2session, makeCert, route, startBackend, startProxy, type Cert } from './helpers.js';

/**
 * Client-side timeouts on real loopback sockets, with short settings: headers, keep-alive idle,
 * HTTP/2 idle session, and the request body timeout (time without progress).
 */

const HOST = 't.test';
const cert: Cert = makeCert([HOST]);

async function proxyWith(t: TestContext, routes: Route[], settings: Partial<ProxySettings>, lines?: CapturedLine[]): Promise<{ w: ProxyWorker; http: number; https: number }> {
  const w = await startProxy(settings, captureLog({ level: 'info', component: 'proxy', into: lines }).log);
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes });
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: [HOST], ...cert }] });
  return { w, http: w.listeners.httpPort!, https: w.listeners.httpsPort! };
}

/** A raw client connection: plain TCP, or TLS negotiating HTTP/1.1. */
function rawConnect(port: number, tls: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tls
      ? tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca: cert.certPem, ALPNProtocols: ['http/1.1'] }, () => resolve(s))
      : netConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** What the server sent until it closed the connection, and after how long (ms); rejects after `withinMs`. */
function untilClosed(s: Socket, withinMs: number): Promise<{ data: string; afterMs: number }> {
  const started = Date.now();
  let data = '';
  s.on('data', (c: Buffer) => (data += c.toString('latin1')));
  s.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`still open after ${withinMs} ms; got ${JSON.stringify(data.slice(0, 80))}`));
    }, withinMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ data, afterMs: Date.now() - started });
    });
  });
}

for (const tls of [false, true]) {
  const proto = tls ? 'HTTPS/1.1' : 'HTTP';

  test(`${proto}: a client that stalls in its headers gets 408 and is closed after header_timeout`, async (t) => {
    const be = await startBackend('be');
    t.after(() => be.close());
    const p = await proxyWith(t, [route(HOST, '/', be.port)], { headerTimeoutMs: 400 });
    const s = await rawConnect(tls ? p.https : p.http, tls);
    s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `);
    const { data, afterMs } = await untilClosed(s, 4000);
    assert.match(data, /^HTTP\/1\.1 408 /);
    assert.ok(afterMs >= 350, `closed after ${afterMs} ms, before the timeout`);
    assert.equal(be.seen.length, 0);
  });

  test(`${proto}: an idle keep-alive connection is closed after keepalive_timeout`, async (t) => {
    const be = await startBackend('be');
    t.after(() => be.close());
    const p = await proxyWith(t, [route(HOST, '/', be.port)], { keepaliveTimeoutMs: 300 });
    const s = await rawConnect(tls ? p.https : p.http, tls);
    s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    // Node's keep-alive timer adds a one-second grace to the setting
    const { data } = await untilClosed(s, 4000);
    assert.match(data, /^HTTP\/1\.1 200 /);
  });
}

test('HTTPS: a client that never completes the TLS handshake is closed after header_timeout', async (t) => {
  const p = await proxyWith(t, [], { headerTimeoutMs: 400 });
  const s = await rawConnect(p.https, false);
  s.resume();
  const { afterMs } = await untilClosed(s, 4000);
  assert.ok(afterMs >= 350, `closed after ${afterMs} ms, before the timeout`);
});

test('HTTP/2: an idle session gets GOAWAY after http2_idle_timeout; one with a long-running stream is kept', async (t) => {
  // answers after 1.2 s: a stream open longer than the idle timeout
  const be = await startBackend('be', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('late'), 1200);
    else res.end('now');
  });
  t.after(() => be.close());
  const p = await proxyWith(t, [route(HOST, '/', be.port)], { http2IdleTimeoutMs: 300 });

  const idle = h2session(p.https, HOST, cert.certPem);
  t.after(() => idle.destroy());
  assert.equal((await h2get(idle, '/')).status, 200);
  const started = Date.now();
  const [goawayCode] = (await Promise.race([once(idle, 'goaway'), sleep(3000).then(() => ['none'])])) as [number | string];
  assert.equal(goawayCode, 0, 'GOAWAY(NO_ERROR) after the idle timeout');
  assert.ok(Date.now() - started >= 250);

  const busy = h2session(p.https, HOST, cert.certPem);
  t.after(() => busy.destroy());
  let closed = false;
  busy.on('goaway', () => (closed = true));
  const slow = await h2get(busy, '/slow');
  assert.equal(slow.status, 200);
  assert.equal(slow.body, 'late');
  assert.equal(closed, false, 'a session with an open stream is not closed as idle');
  assert.equal((await h2get(busy, '/')).body, 'now', 'and it still takes new streams');
});

/** Sends `chunks` pieces of `size` bytes, `everyMs` apart, on a writable request; resolves when all are written. */
async function trickle(write: (b: Buffer) => void, chunks: number, size: number, everyMs: number): Promise<number> {
  for (let i = 0; i < chunks; i++) {
    write(Buffer.alloc(size, 97 + (i % 26)));
    await sleep(everyMs);
  }
  return chunks * size;
}

/** The backend's answer: how many body bytes it got. */
function countingBackend() {
  return startBackend('be', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(String(n)));
  });
}

function h1Upload(port: number, tls: boolean): { req: ReturnType<typeof request>; reply: Promise<{ status: number; body: string }> } {
  const options = { host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { host: HOST, 'transfer-encoding': 'chunked' }, agent: false, servername: HOST, ca: cert.certPem };
  let req!: ReturnType<typeof request>;
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const onRes = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    req = tls ? httpsRequest(options, onRes) : request(options, onRes);
    req.on('error', reject);
  });
  return { req, reply };
}

for (const tls of [false, true]) {
  const proto = tls ? 'HTTPS/1.1' : 'HTTP';

  test(`${proto}: an upload that keeps moving outlives body_timeout; a stalled one gets 408, logged as 408`, async (t) => {
    const be = await countingBackend();
    t.after(() => be.close());
    const lines: CapturedLine[] = [];
    const p = await proxyWith(t, [route(HOST, '/', be.port)], { bodyTimeoutMs: 400, accessLog: true }, lines);
    const port = tls ? p.https : p.http;

    // 1.5 s in all, one piece every 150 ms: longer than the body timeout, never silent that long
    const moving = h1Upload(port, tls);
    const sent = await trickle((b) => moving.req.write(b), 10, 1000, 150);
    moving.req.end();
    const ok = await moving.reply;
    assert.equal(ok.status, 200);
    assert.equal(ok.body, String(sent));

    const s = await rawConnect(port, tls);
    s.write(`POST /stall HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`);
    const started = Date.now();
    const { data } = await untilClosed(s, 4000);
    assert.match(data, /^HTTP\/1\.1 408 /);
    assert.match(data, /connection: close/i);
    assert.ok(Date.now() - started >= 350);
    const entry = lines.find((l) => l.msg === 'access' && l.path === '/stall');
    assert.equal(entry?.status, 408);
  });
}

test('HTTP: time the proxy spends not reading (upstream backpressure) does not count against the client', async (t) => {
  // the backend reads nothing for 1.5 s, then everything
  const be = await startBackend('be', (req, res) => {
    let n = 0;
    req.pause();
    setTimeout(() => {
      req.on('data', (c: Buffer) => (n += c.length));
      req.resume();
    }, 1500);
    req.on('end', () => res.end(String(n)));
  });
  t.after(() => be.close());
  const p = await proxyWith(t, [route(HOST, '/', be.port)], { bodyTimeoutMs: 400 });
  // far more than the socket buffers on the way hold: the proxy has to stop reading
  const big = Buffer.alloc(32 * 1024 * 1024, 120);
  const r = await get(p.http, '/big', { host: HOST, 'content-type': 'application/octet-stream' }, 'POST', big as unknown as string);
  assert.equal(r.status, 200);
  assert.equal(r.body, String(big.length));
});

test('HTTP/2: an upload that keeps moving outlives body_timeout; a stalled stream gets 408 and is closed', async (t) => {
  const be = await countingBackend();
  t.after(() => be.close());
  const lines: CapturedLine[] = [];
  const p = await proxyWith(t, [route(HOST, '/', be.port)], { bodyTimeoutMs: 400, accessLog: true }, lines);
  const session = h2session(p.https, HOST, cert.certPem);
  t.after(() => session.destroy());

  const post = (path: string) => {
    const stream = session.request({ ':method': 'POST', ':path': path });
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => (body += c));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
    return { stream, reply };
  };

  const moving = post('/upload');
  const sent = await trickle((b) => moving.stream.write(b), 10, 1000, 150);
  moving.stream.end();
  const ok = await moving.reply;
  assert.equal(ok.status, 200);
  assert.equal(ok.body, String(sent));

  const stalled = post('/stall');
  const closed = once(stalled.stream, 'close').then(() => true);
  stalled.stream.write('x'.repeat(100));
  const r = await Promise.race([stalled.reply, sleep(4000).then(() => ({ status: -1, body: '' }))]);
  assert.equal(r.status, 408);
  assert.ok(await Promise.race([closed, sleep(2000).then(() => false)]), 'the stream is closed');
  const entry = lines.find((l) => l.msg === 'access' && l.path === '/stall');
  assert.equal(entry?.status, 408);
  assert.equal((await h2get(session, '/')).status, 200, 'the session goes on');
});

test('4,000 half-open connections stalled in their headers: a normal request still gets its answer, and they are all closed', { timeout: 60_000 }, async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const HELD = 4000;
  const p = await proxyWith(t, [route(HOST, '/', be.port)], { headerTimeoutMs: 12_000 });
  const sockets: Socket[] = [];
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  let closed = 0;
  // in batches, so the listen backlog is never what limits the test (opening them all takes
  // a few seconds on a slow kernel: the header timeout leaves room for that)
  for (let i = 0; i < HELD; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, HELD - i) }, () => rawConnect(p.http, false)));
    for (const s of batch) {
      s.on('error', () => undefined);
      // reading, or the client would never see the server's end of the connection
      s.resume();
      s.once('close', () => closed++);
      s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `);
      sockets.push(s);
    }
  }
  const started = performance.now();
  const r = await get(p.http, '/', { host: HOST });
  const tookMs = performance.now() - started;
  assert.equal(r.status, 200);
  assert.ok(tookMs < 1000, `a normal request took ${Math.round(tookMs)} ms`);
  assert.equal(closed, 0, 'the stalled connections were held while it was served');

  const deadline = Date.now() + 25_000;
  while (closed < HELD && Date.now() < deadline) await sleep(100);
  assert.equal(closed, HELD, 'every stalled connection is closed after header_timeout');
});
