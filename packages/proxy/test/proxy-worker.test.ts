import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import type { ProxySettings } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import { ProxyWorker } from '../src/proxy-worker.js';
import { tlsResumes, tlsSession } from '@dispenser/shared/testing/tls-session';
import { captureLog, type CapturedLine } from '@dispenser/shared/testing/log';
import { get, h2get, h2session, handshake, makeCert, route, startBackend, startProxy, testSettings } from './helpers.js';

async function proxyWith(t: TestContext, routes: Route[], settings: Partial<ProxySettings> = {}, lines?: CapturedLine[]): Promise<{ w: ProxyWorker; http: number; https: number }> {
  const w = await startProxy(settings, captureLog({ level: 'info', component: 'proxy', into: lines }).log);
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes });
  return { w, http: w.listeners.httpPort!, https: w.listeners.httpsPort ?? 0 };
}

test('HTTP/1.1: routes by host and longest prefix, preserves Host, streams the body', async (t) => {
  const web = await startBackend('web');
  const api = await startBackend('api');
  t.after(() => Promise.all([web.close(), api.close()]));
  const { http } = await proxyWith(t, [route('example.com', '/', web.port), route('example.com', '/api', api.port)]);

  const a = await get(http, '/api/users?x=1', { host: 'Example.com:8080' });
  assert.equal(a.status, 200);
  const seen = JSON.parse(a.body);
  assert.equal(seen.name, 'api');
  assert.equal(seen.url, '/api/users?x=1');
  assert.equal(seen.headers.host, 'Example.com:8080', 'Host preserved as the client sent it');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');

  const b = await get(http, '/api-v2', { host: 'example.com' });
  assert.equal(JSON.parse(b.body).name, 'web');

  const big = 'x'.repeat(3 * 1024 * 1024);
  const c = await get(http, '/api/upload', { host: 'example.com', 'content-type': 'text/plain' }, 'POST', big);
  assert.equal(JSON.parse(c.body).body.length, big.length);
});

test('unknown host → 404, missing upstream → 502, slow upstream → 504', async (t) => {
  const slow = await startBackend('slow', () => undefined /* never answers */);
  const dead = netServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as AddressInfo).port;
  dead.close(); // nothing listens there any more: connection refused
  t.after(() => slow.close());
  const { http } = await proxyWith(t, [route('slow.test', '/', slow.port), route('dead.test', '/', deadPort)], { upstreamTimeoutMs: 300 });

  const unknown = await get(http, '/', { host: 'nobody.test' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /no service/);
  const refused = await get(http, '/', { host: 'dead.test' });
  assert.equal(refused.status, 502);
  const started = Date.now();
  const timedOut = await get(http, '/', { host: 'slow.test' });
  assert.equal(timedOut.status, 504);
  assert.ok(Date.now() - started < 3000);
});

test('forwarding headers: untrusted replaces client values, trusted appends', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const spoof = { host: 'h.test', 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-forwarded-proto': 'https', forwarded: 'for=6.6.6.6' };

  const untrusted = await proxyWith(t, [route('h.test', '/', be.port)], { trustForwardedHeaders: false });
  const u = JSON.parse((await get(untrusted.http, '/', spoof)).body).headers;
  assert.equal(u['x-forwarded-for'], '127.0.0.1');
  assert.equal(u['x-real-ip'], '127.0.0.1');
  assert.equal(u['x-forwarded-proto'], 'http');
  assert.equal(u.forwarded, 'for=127.0.0.1;proto=http');

  const trusted = await proxyWith(t, [route('h.test', '/', be.port)], { trustForwardedHeaders: true });
  const tr = JSON.parse((await get(trusted.http, '/', spoof)).body).headers;
  assert.equal(tr['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
  assert.equal(tr['x-real-ip'], '6.6.6.6');
  assert.equal(tr['x-forwarded-proto'], 'https');
});

test('hop-by-hop headers are not forwarded', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const { http } = await proxyWith(t, [route('h.test', '/', be.port)]);
  const r = await get(http, '/', { host: 'h.test', connection: 'keep-alive, x-secret-hop', 'x-secret-hop': '1', 'proxy-authorization': 'Basic eA==', 'x-kept': 'yes' });
  const h = JSON.parse(r.body).headers;
  assert.equal(h['x-secret-hop'], undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h['x-kept'], 'yes');
});

test('https-only: 301 to https with path and query; ACME challenge answered before the redirect', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const { w, http } = await proxyWith(t, [route('example.com', '/', be.port)], { strategy: 'https-only' });
  await w.apply({ type: 'challenges', version: 1, tokens: { tok123: 'tok123.keyauth' } });

  const r = await get(http, '/a/b?c=d', { host: 'Example.com' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, `https://example.com:${w.listeners.httpsPort}/a/b?c=d`);
  const acme = await get(http, '/.well-known/acme-challenge/tok123', { host: 'example.com' });
  assert.equal(acme.status, 200);
  assert.equal(acme.body, 'tok123.keyauth');
  assert.equal((await get(http, '/.well-known/acme-challenge/other', { host: 'example.com' })).status, 404);
  assert.equal(be.seen.length, 0, 'nothing reached the service over plain HTTP');
});

test('http-only opens no TLS listener; both serves plain HTTP', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const only = await proxyWith(t, [route('h.test', '/', be.port)], { strategy: 'http-only' });
  assert.equal(only.w.listeners.httpsPort, undefined);
  assert.equal((await get(only.http, '/', { host: 'h.test' })).status, 200);
});

test('HTTPS: SNI picks the certificate, ALPN offers h2 and http/1.1, both protocols proxy', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const a = makeCert(['a.test']);
  const wild = makeCert(['*.w.test']);
  const { w, https } = await proxyWith(t, [route('a.test', '/', be.port), route('x.w.test', '/', be.port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['a.test'], ...a }, { hosts: ['*.w.test'], ...wild }] });

  assert.deepEqual(await handshake(https, 'a.test', a.certPem), { cn: 'a.test', alpn: 'h2' });
  assert.deepEqual(await handshake(https, 'a.test', a.certPem, ['http/1.1']), { cn: 'a.test', alpn: 'http/1.1' });
  assert.equal((await handshake(https, 'x.w.test', wild.certPem)).cn, '*.w.test');
  await assert.rejects(handshake(https, 'unknown.test', a.certPem), 'unknown SNI fails the handshake cleanly');
  await assert.rejects(handshake(https, 'a.b.w.test', wild.certPem), 'a wildcard covers one label only');

  const session = h2session(https, 'a.test', a.certPem);
  t.after(() => session.close());
  const r = await h2get(session, '/h2?x=1');
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body);
  assert.equal(seen.url, '/h2?x=1');
  assert.equal(seen.headers.host, `a.test:${https}`);
  assert.equal(seen.headers['x-forwarded-proto'], 'https');

  // HTTP/1.1 over TLS
  const h1 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: https, path: '/h1', servername: 'a.test', ca: a.certPem, headers: { host: 'a.test' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(h1.status, 200);
  assert.equal(JSON.parse(h1.body).headers['x-forwarded-proto'], 'https');
});

test('certificate swap: the next handshake uses the new certificate', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const first = makeCert(['s.test', 'first.s.test']);
  const second = makeCert(['s.test', 'second.s.test']);
  const { w, https } = await proxyWith(t, [route('s.test', '/', be.port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['s.test'], ...first }] });
  await handshake(https, 's.test', first.certPem);
  await assert.rejects(handshake(https, 's.test', second.certPem), 'not yet trusted: the first cert is served');
  await w.apply({ type: 'certs', version: 2, certs: [{ hosts: ['s.test'], ...second }] });
  await handshake(https, 's.test', second.certPem);
  await assert.rejects(handshake(https, 's.test', first.certPem));
  assert.equal(await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['s.test'], ...first }] }), 'stale', 'an older snapshot is ignored');
  await handshake(https, 's.test', second.certPem);
});

test('a TLS session from one worker resumes on another with the same ticket keys, not on one with other keys', async (t) => {
  const cert = makeCert(['t.test']);
  const certs = { type: 'certs' as const, version: 1, certs: [{ hosts: ['t.test'], ...cert }] };
  const shared = randomBytes(48).toString('base64');
  const keysAfterListening = await proxyWith(t, []);
  await keysAfterListening.w.apply(certs);
  await keysAfterListening.w.apply({ type: 'tls-ticket-keys', version: 1, keys: shared });
  // the order a starting worker gets them in: keys before the TLS listener opens
  const keysFirst = new ProxyWorker(captureLog({ level: 'info', component: 'proxy' }).log);
  t.after(() => keysFirst.drain(100));
  await keysFirst.apply({ type: 'tls-ticket-keys', version: 1, keys: shared });
  await keysFirst.apply({ type: 'proxy-settings', version: 1, settings: testSettings() });
  await keysFirst.apply(certs);
  const otherKeys = await proxyWith(t, []);
  await otherKeys.w.apply(certs);
  await otherKeys.w.apply({ type: 'tls-ticket-keys', version: 1, keys: randomBytes(48).toString('base64') });

  const session = await tlsSession(keysAfterListening.https, 't.test', { ca: cert.certPem });
  assert.equal(await tlsResumes(keysFirst.listeners.httpsPort!, 't.test', session, { ca: cert.certPem }), true);
  assert.equal(await tlsResumes(keysAfterListening.https, 't.test', session, { ca: cert.certPem }), true);
  assert.equal(await tlsResumes(otherKeys.https, 't.test', session, { ca: cert.certPem }), false, 'other keys cannot read the ticket: full handshake');

  // rotation: tickets made with the old keys no longer resume, new ones do
  await keysFirst.apply({ type: 'tls-ticket-keys', version: 2, keys: randomBytes(48).toString('base64') });
  assert.equal(await tlsResumes(keysFirst.listeners.httpsPort!, 't.test', session, { ca: cert.certPem }), false);
  const fresh = await tlsSession(keysFirst.listeners.httpsPort!, 't.test', { ca: cert.certPem });
  assert.equal(await tlsResumes(keysFirst.listeners.httpsPort!, 't.test', fresh, { ca: cert.certPem }), true);
});

test('route swap during traffic: zero failed requests, new requests reach the new upstream', async (t) => {
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const { w, http } = await proxyWith(t, [route('app.test', '/', blue.port)]);
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.after(() => agent.destroy());
  const hit = () =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: http, path: '/', headers: { host: 'app.test' }, agent }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).name) : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  let stop = false;
  let failures = 0;
  const starts: number[] = [];
  const names: string[] = [];
  const loops = Array.from({ length: 16 }, async () => {
    while (!stop) {
      try {
        const startedAt = performance.now();
        const name = await hit();
        names.push(name);
        starts.push(startedAt);
      } catch {
        failures++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 200));
  for (let v = 2; v < 12; v++) {
    await w.apply({ type: 'routes', version: v, routes: [route('app.test', '/', v % 2 ? blue.port : green.port)] });
    await new Promise((r) => setTimeout(r, 30));
  }
  await w.apply({ type: 'routes', version: 12, routes: [route('app.test', '/', green.port)] });
  const swappedAt = performance.now();
  await new Promise((r) => setTimeout(r, 150));
  stop = true;
  await Promise.all(loops);
  assert.equal(failures, 0);
  assert.ok(names.length > 100, `enough traffic (${names.length})`);
  const after = names.filter((_, i) => starts[i]! > swappedAt);
  assert.ok(after.length > 0);
  assert.ok(after.every((n) => n === 'green'), `every request started after the swap goes to green: ${after.filter((n) => n !== 'green').length} of ${after.length} did not`);
});

test('WebSocket upgrade passes through; the access log records requests', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.headers['x-forwarded-for']}`);
    ws.on('message', (m) => ws.send(`echo ${String(m)}`));
  });
  t.after(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  const lines: CapturedLine[] = [];
  const wsPort = (wss.address() as AddressInfo).port;
  const { http } = await proxyWith(t, [route('ws.test', '/', wsPort)], { accessLog: true }, lines);

  const ws = new WebSocket(`ws://127.0.0.1:${http}/socket`, { headers: { host: 'ws.test' } });
  const received: string[] = [];
  ws.on('message', (m) => received.push(String(m)));
  await once(ws, 'open');
  ws.send('ping');
  while (received.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(received, ['hello 127.0.0.1', 'echo ping']);
  ws.close();
  await once(ws, 'close');

  await get(http, '/plain', { host: 'ws.test' }); // the ws server answers plain HTTP with 426
  await new Promise((r) => setTimeout(r, 50));
  const access = lines.filter((l) => l.msg === 'access');
  const plain = access.find((l) => l.path === '/plain');
  assert.ok(plain, 'access line for the plain request');
  assert.equal(plain.host, 'ws.test');
  assert.equal(plain.upstream, `127.0.0.1:${wsPort}`);
  assert.equal(typeof plain.status, 'number');
  assert.equal(typeof plain.durationMs, 'number');
  assert.ok(access.some((l) => l.path === '/socket' && l.status === 101));

  // what the proxy answers itself is logged too
  await get(http, '/nowhere', { host: 'unknown.test' });
  await new Promise((r) => setTimeout(r, 50));
  const unknown = lines.find((l) => l.msg === 'access' && l.path === '/nowhere');
  assert.equal(unknown?.status, 404);
  assert.equal(unknown?.host, 'unknown.test');
  assert.equal(unknown?.upstream, null);
});

test('a client that goes away aborts the upstream request', async (t) => {
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const be = await startBackend('hang', (req, res) => {
    res.writeHead(200);
    res.write('partial');
    req.socket.on('close', upstreamClosed);
  });
  t.after(() => be.close());
  const { http } = await proxyWith(t, [route('h.test', '/', be.port)]);
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: http, path: '/', headers: { host: 'h.test' }, agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.on('error', reject);
    req.end();
  });
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('upstream request not aborted')), 2000))]);
});

test('a streamed response reaches the client piece by piece, before the upstream ends it', async (t) => {
  // each event is sent only once the client has the previous one: a proxy that held the body
  // back (buffering, or writes coalesced past the loop turn they arrived in) never finishes
  let next: () => void = () => undefined;
  const be = await startBackend('events', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    next = () => (++n <= 3 ? res.write(`data: ${n}\n\n`) : res.end());
    next();
  });
  t.after(() => be.close());
  const { http } = await proxyWith(t, [route('sse.test', '/', be.port)]);
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stalled after ${JSON.stringify(got)}`)), 3000);
    const req = request({ host: '127.0.0.1', port: http, path: '/', headers: { host: 'sse.test' }, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        got.push(c);
        next();
      });
      res.on('end', () => (clearTimeout(timer), resolve()));
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(got.join('').split('\n\n').filter(Boolean), ['data: 1', 'data: 2', 'data: 3']);
});

test('a client that does not read holds the upstream back instead of filling the proxy memory', async (t) => {
  const total = 256 * 1024 * 1024;
  let sent = 0;
  const be = await startBackend('big', (_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  t.after(() => be.close());
  const { http } = await proxyWith(t, [route('big.test', '/', be.port)]);
  const req = request({ host: '127.0.0.1', port: http, path: '/', headers: { host: 'big.test' }, agent: false });
  t.after(() => req.destroy());
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  res.pause();
  // let the pipeline fill up: socket buffers on both sides, then the proxy's own queue
  let last = -1;
  while (sent !== last) {
    last = sent;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(sent < total / 4, `upstream kept sending to a client that reads nothing: ${sent} of ${total} bytes`);
  res.resume();
  let received = 0;
  res.on('data', (c: Buffer) => (received += c.length));
  await once(res, 'end');
  assert.equal(received, total);
});

test('WebSocket over TLS (HTTP/1.1 ALPN) passes through', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => ws.send(`proto ${req.headers['x-forwarded-proto']}`));
  t.after(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  const cert = makeCert(['wss.test']);
  const { w, https } = await proxyWith(t, [route('wss.test', '/', (wss.address() as AddressInfo).port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['wss.test'], ...cert }] });
  const ws = new WebSocket(`wss://127.0.0.1:${https}/`, { headers: { host: 'wss.test' }, servername: 'wss.test', ca: cert.certPem } as WebSocket.ClientOptions);
  const [msg] = await once(ws, 'message');
  assert.equal(String(msg), 'proto https');
  ws.close();
});

test('listeners move when the ports change; the old port stops accepting', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const { w, http } = await proxyWith(t, [route('h.test', '/', be.port)], { strategy: 'http-only' });
  const probe = netServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const next = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await w.apply({ type: 'proxy-settings', version: 2, settings: { ...w.state.settings, httpPort: next } });
  assert.equal(w.listeners.httpPort, next);
  assert.equal((await get(next, '/', { host: 'h.test' })).status, 200);
  await assert.rejects(get(http, '/', { host: 'h.test' }));
});

test('a reload to a port that is taken keeps the previous listener and settings serving', async (t) => {
  const be = await startBackend('be');
  const busy = netServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => Promise.all([be.close(), new Promise((r) => busy.close(r))]));
  const taken = (busy.address() as AddressInfo).port;
  const { w, http } = await proxyWith(t, [route('h.test', '/', be.port)], { strategy: 'http-only' });
  const before = w.state.settings;
  // the worker process logs this and keeps serving (worker-port-busy.test.ts); the state stays whole
  await assert.rejects(w.apply({ type: 'proxy-settings', version: 2, settings: { ...w.state.settings, httpPort: taken } }), /EADDRINUSE/);
  assert.equal(w.listeners.httpPort, http);
  assert.equal(w.state.settings, before);
  assert.equal((await get(http, '/', { host: 'h.test' })).status, 200);
});

test('HTTP/2: 404 for an unrouted path, 502 for a dead upstream, request body streamed', async (t) => {
  const be = await startBackend('be');
  t.after(() => be.close());
  const dead = netServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as AddressInfo).port;
  await new Promise((r) => dead.close(r));
  const cert = makeCert(['h2.test']);
  const { w, https } = await proxyWith(t, [route('h2.test', '/app', be.port), route('h2.test', '/dead', deadPort)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['h2.test'], ...cert }] });
  const session = h2session(https, 'h2.test', cert.certPem);
  t.after(() => session.close());
  assert.equal((await h2get(session, '/other')).status, 404);
  assert.equal((await h2get(session, '/dead/x')).status, 502);
  const body = 'y'.repeat(256 * 1024);
  const posted = await new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':path': '/app/upload', ':method': 'POST', 'content-type': 'text/plain' });
    let out = '';
    stream.on('data', (c) => (out += c));
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
    stream.end(body);
  });
  const seen = JSON.parse(posted);
  assert.equal(seen.method, 'POST');
  assert.equal(seen.body.length, body.length);
});

test('an upstream that does not accept connections in time → 502 after the connect timeout', async (t) => {
  // A listener whose process is blocked never accepts: once its accept queue is full, the kernel
  // drops further SYNs and a connect hangs, which is what an overloaded or firewalled upstream does.
  const { spawn } = await import('node:child_process');
  const blocked = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      console.log(s.address().port);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000);
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => blocked.kill('SIGKILL'));
  const [line] = await once(blocked.stdout!, 'data');
  const port = Number(String(line).trim());
  const { connect } = await import('node:net');
  const fillers: import('node:net').Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    fillers.push(c);
  }
  t.after(() => fillers.forEach((c) => c.destroy()));
  await new Promise((r) => setTimeout(r, 100));
  const { http } = await proxyWith(t, [route('slowconnect.test', '/', port)], { connectTimeoutMs: 300, upstreamTimeoutMs: 5000 });
  const started = Date.now();
  const r = await get(http, '/', { host: 'slowconnect.test' });
  assert.equal(r.status, 502);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `answered after ${took} ms`);
});

test('drain closes WebSockets and resolves once nothing is in flight', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.send('hi'));
  t.after(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  const { w, http } = await proxyWith(t, [route('ws.test', '/', (wss.address() as AddressInfo).port)]);
  const ws = new WebSocket(`ws://127.0.0.1:${http}/`, { headers: { host: 'ws.test' } });
  ws.on('error', () => undefined);
  await once(ws, 'message');
  const started = Date.now();
  const closed = once(ws, 'close');
  assert.equal(await w.drain(5000), 'idle');
  await closed;
  assert.ok(Date.now() - started < 2000, 'did not wait for the deadline');
  await assert.rejects(get(http, '/', { host: 'ws.test' }), 'no longer accepting');
});

test('response headers: repeated ones kept, hop-by-hop and Connection-listed ones dropped, on HTTP/1.1, HTTP/2 and while draining', async (t) => {
  const be = await startBackend('be', (_req, res) => {
    res.writeHead(200, [
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['connection', 'x-internal'],
      ['x-internal', 'secret'],
      ['keep-alive', 'timeout=5'],
      ['x-kept', 'yes'],
    ].flat());
    res.end('ok');
  });
  t.after(() => be.close());
  const cert = makeCert(['r.test']);
  const { w, http, https } = await proxyWith(t, [route('r.test', '/', be.port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['r.test'], ...cert }] });
  const check = (r: { status: number; headers: Record<string, unknown>; body: string }, label: string) => {
    assert.equal(r.status, 200, label);
    assert.equal(r.body, 'ok', label);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2'], `${label}: both cookies`);
    assert.equal(r.headers['x-kept'], 'yes', label);
    assert.equal(r.headers['x-internal'], undefined, `${label}: named in Connection`);
    assert.equal(r.headers['keep-alive'], undefined, label);
  };
  check(await get(http, '/', { host: 'r.test' }), 'HTTP/1.1');
  const session = h2session(https, 'r.test', cert.certPem);
  t.after(() => session.close());
  check(await h2get(session, '/'), 'HTTP/2');
  w.traffic.draining = true;
  const draining = await get(http, '/', { host: 'r.test' });
  check(draining, 'draining');
  assert.equal(draining.headers.connection, 'close');
  w.traffic.draining = false;
});

test('a keep-alive connection the upstream dropped as it was reused: GET is retried once, POST gets 502', async (t) => {
  // answers the first request on each connection, then drops the connection on the next one:
  // the race of an upstream's idle timeout against a reused pooled connection
  const server = netServer((socket) => {
    let requests = 0;
    socket.on('data', (chunk: Buffer) => {
      if (!chunk.includes('\r\n\r\n')) return;
      if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      else socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { http } = await proxyWith(t, [route('k.test', '/', (server.address() as AddressInfo).port)]);
  assert.equal((await get(http, '/', { host: 'k.test' })).status, 200);
  const retried = await get(http, '/', { host: 'k.test' });
  assert.equal(retried.status, 200, 'GET on the dropped pooled connection retried on a new one');
  assert.equal(retried.body, 'ok');
  const post = await get(http, '/', { host: 'k.test' }, 'POST', 'x');
  assert.equal(post.status, 502, 'a request with a body is not replayed');
});
