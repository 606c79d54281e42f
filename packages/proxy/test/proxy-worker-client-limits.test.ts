import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as h2connect } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxySettings } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import { MAX_WAITING } from '../src/pipeline.js';
import { MAX_CONCURRENT_STREAMS } from '../src/listeners.js';
import { captureLog, type CapturedLine } from '@dispenser/shared/testing/log';
import { makeCert, route, startBackend, startProxy, type Cert } from './helpers.js';

/**
 * What one client connection can hold: pipelined requests are forwarded one at a time, HTTP/2
 * streams are capped, and a client that stops reading a response is dropped after send_timeout.
 */

const HOST = 'l.test';
const cert: Cert = makeCert([HOST]);

async function proxyWith(t: TestContext, routes: Route[], settings: Partial<ProxySettings> = {}, lines?: CapturedLine[]) {
  const w = await startProxy({ strategy: 'both', ...settings }, captureLog({ level: 'info', component: 'proxy', into: lines }).log);
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes });
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: [HOST], ...cert }] });
  return { w, http: w.listeners.httpPort!, https: w.listeners.httpsPort! };
}

test('pipelined requests on one connection are forwarded one at a time; when the client leaves, the waiting ones are dropped', { timeout: 20_000 }, async (t) => {
  let concurrent = 0;
  let most = 0;
  const be = await startBackend('be', (req, res) => {
    concurrent++;
    most = Math.max(most, concurrent);
    const end = () => {
      concurrent--;
      res.end(`done ${req.url}`);
    };
    if (req.url === '/hang') res.on('close', () => concurrent--);
    else setTimeout(end, 5);
  });
  t.after(() => be.close());
  const { w, http } = await proxyWith(t, [route(HOST, '/', be.port)]);
  // ten quick ones: answered in order, never two upstream at once
  const socket = netConnect(http, '127.0.0.1');
  let got = '';
  socket.on('data', (d) => (got += d.toString()));
  socket.write(Array.from({ length: 10 }, (_, i) => `GET /q${i} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join(''));
  for (let i = 0; i < 100 && (got.match(/done \/q/g) ?? []).length < 10; i++) await sleep(20);
  assert.deepEqual(got.match(/done \/q\d/g), Array.from({ length: 10 }, (_, i) => `done /q${i}`));
  assert.equal(most, 1, 'one upstream request at a time for one connection');
  // a hanging one with others behind it, then the client leaves: nothing stays in flight
  socket.write(`GET /hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n` + Array.from({ length: 20 }, () => `GET /behind HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join(''));
  await sleep(100);
  assert.equal(w.traffic.inFlight, 1);
  socket.destroy();
  for (let i = 0; i < 50 && w.traffic.inFlight > 0; i++) await sleep(20);
  assert.equal(w.traffic.inFlight, 0);
  assert.equal(be.seen.filter((r) => r.url === '/behind').length, 0, 'requests waiting behind the one in flight were never forwarded');
  // a connection that piles up more than the cap is closed
  const flood = netConnect(http, '127.0.0.1');
  const closed = new Promise<void>((r) => flood.on('close', () => r()));
  flood.on('error', () => undefined);
  flood.on('data', () => undefined);
  flood.write(`GET /hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n` + Array.from({ length: MAX_WAITING + 5 }, () => `GET /behind HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join(''));
  await closed;
  for (let i = 0; i < 50 && w.traffic.inFlight > 0; i++) await sleep(20);
  assert.equal(w.traffic.inFlight, 0);
});

test('HTTP/2: a connection may open at most MAX_CONCURRENT_STREAMS streams', { timeout: 20_000 }, async (t) => {
  const be = await startBackend('be', () => undefined);
  t.after(() => be.close());
  const { https } = await proxyWith(t, [route(HOST, '/', be.port)]);
  const session = h2connect(`https://127.0.0.1:${https}`, { ca: cert.certPem, servername: HOST });
  t.after(() => session.destroy());
  const settings = await new Promise<{ maxConcurrentStreams?: number }>((r) => session.once('remoteSettings', r));
  assert.equal(settings.maxConcurrentStreams, MAX_CONCURRENT_STREAMS);
});

test('a client that stops reading the response is dropped after send_timeout (HTTP/1.1 and HTTP/2), and the exchange is settled', { timeout: 20_000 }, async (t) => {
  // an endless body: the proxy always has something ready for the client
  const chunk = Buffer.alloc(64 * 1024, 120);
  const be = await startBackend('big', (_req, res) => {
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  t.after(() => be.close());
  const lines: CapturedLine[] = [];
  const { w, http, https } = await proxyWith(t, [route(HOST, '/', be.port)], { sendTimeoutMs: 300, accessLog: true }, lines);

  // HTTP/1.1: the client never reads (its receive buffer fills)
  const socket = netConnect(http, '127.0.0.1');
  socket.pause();
  const h1Closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('error', () => undefined);
  socket.write(`GET /big HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  for (let i = 0; i < 100 && !lines.some((l) => l.msg === 'access'); i++) await sleep(20);
  // what was already sent is all there is: reading it now ends at the close
  socket.resume();
  await h1Closed;
  // HTTP/2: the client's flow-control window stays at 0
  const session = h2connect(`https://127.0.0.1:${https}`, { ca: cert.certPem, servername: HOST, settings: { initialWindowSize: 0 } });
  t.after(() => session.destroy());
  session.on('error', () => undefined);
  const stream = session.request({ ':path': '/big', ':authority': HOST });
  stream.on('error', () => undefined);
  // the stream goes away (the client never opened its window: no body was ever sent)
  await new Promise<void>((r) => stream.on('close', () => r()));
  for (let i = 0; i < 50 && w.traffic.inFlight > 0; i++) await sleep(20);
  assert.equal(w.traffic.inFlight, 0);
  const access = lines.filter((l) => l.msg === 'access');
  assert.equal(access.length, 2);
  assert.ok(access.every((l) => l['aborted'] === true && l['error'] === 'DISPENSER_SEND_TIMEOUT'), JSON.stringify(access.map((l) => l.obj)));
  assert.equal(lines.some((l) => l['code'] === 'PROXY_UPSTREAM_FAILED'), false, 'not reported as the service failing');
});

test('HTTP/2: a header block begun and never finished does not hold the connection past the idle close', { timeout: 20_000 }, async (t) => {
  const { https } = await proxyWith(t, [], { http2IdleTimeoutMs: 300 });
  const { connect: tlsConnect } = await import('node:tls');
  const socket = tlsConnect({ host: '127.0.0.1', port: https, servername: HOST, ca: cert.certPem, ALPNProtocols: ['h2'] });
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  await new Promise<void>((r) => socket.once('secureConnect', () => r()));
  const started = Date.now();
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  // preface, empty SETTINGS, then HEADERS for stream 1 without END_HEADERS (":method: GET", HPACK index 2)
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 1, 1, 0, 0, 0, 0, 1, 0x82])]));
  await closed;
  assert.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started} ms`);
});
