import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as netServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as httpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ProxySettings } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import { captureLog, type CapturedLine } from '@dispenser/shared/testing/log';
import { h2get, h2session, makeCert, route, startBackend, startProxy } from './helpers.js';

// Hostile clients and odd upstreams: each case here broke the proxy once (issue 17).

async function proxyWith(t: TestContext, routes: Route[], settings: Partial<ProxySettings> = {}, lines?: CapturedLine[]) {
  const w = await startProxy({ strategy: 'both', ...settings }, captureLog({ level: 'info', component: 'proxy', into: lines }).log);
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes });
  return { w, http: w.listeners.httpPort!, https: w.listeners.httpsPort ?? 0 };
}

/** Writes raw bytes and collects everything until the server closes, `done` says so, or `ms` pass. */
function raw(port: number, bytes: string, ms = 1500, done?: (got: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (done?.(got)) socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

/** A keep-alive Node backend, the kind that honours Content-Length on any method; it records every request it parsed. */
async function recordingBackend(t: TestContext) {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = httpServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`seen ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

/** A raw upstream answering every request with `reply` (bytes as given), counting connections. */
async function rawBackend(t: TestContext, reply: (request: string) => string, closeAfter = false) {
  let connections = 0;
  const server = netServer((socket: Socket) => {
    connections++;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const request = buf.slice(0, end);
      buf = buf.slice(end + 4);
      socket.write(reply(request));
      if (closeAfter) socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** A loopback port nothing listens on any more: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = netServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n';

test('a body on GET/HEAD/OPTIONS/DELETE goes upstream with its framing: nothing smuggled into the pooled connection', async (t) => {
  const be = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('a.test', '/', be.port)]);
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) {
    const answer = await raw(http, `${method} /first HTTP/1.1\r\nHost: a.test\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: close\r\n\r\n${SMUGGLED}`);
    assert.equal(statusOf(answer), 200, method);
    // another client on the same (pooled) upstream connection gets its own answer
    const next = await raw(http, 'GET /next HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(next), 200);
    if (method !== 'HEAD') assert.match(next, /seen GET \/next/);
  }
  assert.deepEqual(be.seen.map((r) => r.url).filter((u) => u === '/smuggled'), [], 'the body never became a request');
  assert.ok(be.seen.filter((r) => r.url === '/first').every((r) => r.body === SMUGGLED), 'each body reached the upstream as a body');
});

test('a chunked body on GET is forwarded chunked, never as bare bytes', async (t) => {
  const be = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('a.test', '/', be.port)]);
  const chunk = SMUGGLED.length.toString(16);
  const answer = await raw(http, `GET /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}\r\n${SMUGGLED}\r\n0\r\n\r\n`);
  assert.equal(statusOf(answer), 200);
  assert.equal((await raw(http, 'GET /next HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')).includes('seen GET /next'), true);
  assert.equal(be.seen.some((r) => r.url === '/smuggled'), false);
  assert.equal(be.seen.find((r) => r.url === '/c')?.body, SMUGGLED);
});

test('HTTP/2: a GET with a body is forwarded with its framing', async (t) => {
  const be = await recordingBackend(t);
  const cert = makeCert(['a.test']);
  const { w, https } = await proxyWith(t, [route('a.test', '/', be.port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['a.test'], ...cert }] });
  const session = h2session(https, 'a.test', cert.certPem);
  t.after(() => session.close());
  for (const headers of [{ 'content-length': String(SMUGGLED.length) }, {}]) {
    // endStream: false, or the client ends a GET's stream with its headers
    const stream = session.request({ ':path': '/h2body', ':method': 'GET', ...headers }, { endStream: false });
    stream.end(SMUGGLED);
    const status = await new Promise<number>((resolve, reject) => {
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
    });
    stream.resume();
    assert.equal(status, 200);
    assert.equal((await h2get(session, '/next')).status, 200);
  }
  assert.equal(be.seen.some((r) => r.url === '/smuggled'), false);
  assert.deepEqual(be.seen.filter((r) => r.url === '/h2body').map((r) => r.body), [SMUGGLED, SMUGGLED]);
});

test('response trailers with connection-specific fields do not crash a worker serving HTTP/2; harmless ones pass', async (t) => {
  const be = await startBackend('trailers', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('body');
    res.addTrailers([['Connection', 'close'], ['Keep-Alive', 'timeout=5'], ['Transfer-Encoding', 'chunked'], ['Upgrade', 'h2c'], ['Proxy-Connection', 'x'], ['Content-Length', '9'], ['X-Checksum', 'abc']]);
    res.end();
  });
  t.after(() => be.close());
  const cert = makeCert(['a.test']);
  const { w, https, http } = await proxyWith(t, [route('a.test', '/', be.port)]);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['a.test'], ...cert }] });
  const session = h2session(https, 'a.test', cert.certPem);
  t.after(() => session.close());
  for (let i = 0; i < 5; i++) {
    const stream = session.request({ ':path': '/' });
    const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      stream.on('trailers', (h) => resolve(h as Record<string, unknown>));
      stream.on('error', reject);
      stream.on('end', () => resolve({}));
      stream.resume();
      stream.end();
    });
    assert.equal(trailers['x-checksum'], 'abc');
    for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'content-length']) assert.equal(trailers[name], undefined, name);
  }
  // and over HTTP/1.1 (chunked, so trailers can be carried)
  const h1 = await raw(http, 'GET / HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(h1), 200);
  assert.match(h1, /X-Checksum: abc|x-checksum: abc/i);
  assert.doesNotMatch(h1.split('0\r\n')[1] ?? '', /keep-alive|upgrade/i);
});

test('paths route and travel normalised: dot-segments cannot reach outside a path route', async (t) => {
  const pub = await recordingBackend(t);
  const root = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('a.test', '/public', pub.port, 'public'), route('a.test', '/', root.port, 'root')]);
  for (const path of ['/public/../secret.html', '/public/%2e%2e/secret.html', '/public/%2E%2E/secret.html', '/public/./../secret.html', '/public/.%2e/secret.html']) {
    const answer = await raw(http, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(answer), 200, path);
    assert.match(answer, /seen GET \/secret\.html\r\n/, `${path} went to the root service as /secret.html`);
  }
  assert.equal(pub.seen.length, 0, 'the /public service never saw a path outside /public');
  const inside = await raw(http, 'GET /public//../x.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.match(inside, /seen GET \/public\/x\.html\r\n/);
  for (const path of ['/public/..%2fsecret.html', '/public/%2e%2e%5Csecret.html', '/..', '/a/../../etc/passwd']) {
    assert.equal(statusOf(await raw(http, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`)), 400, path);
  }
  const encoded = await raw(http, 'GET /public/a%2Fb HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.match(encoded, /seen GET \/public\/a%2Fb\r\n/, '%2F is data, forwarded as sent');
});

test('Host is validated whole; duplicates are refused; absolute-form authority wins and origin-form goes upstream', async (t) => {
  const be = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('app', '/', be.port), route('real.test', '/', be.port)]);
  for (const host of ['app:@evil.example', 'app:80/evil', 'app:"><script>', 'app:abc', '']) {
    assert.equal(statusOf(await raw(http, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)), 400, `Host: ${host}`);
  }
  assert.equal(statusOf(await raw(http, 'GET / HTTP/1.1\r\nHost: app\r\nHost: app\r\nConnection: close\r\n\r\n')), 400, 'two Host headers');
  assert.equal(statusOf(await raw(http, 'GET / HTTP/1.1\r\nHost: app\r\nHost: evil\r\nConnection: close\r\n\r\n')), 400);
  assert.equal(be.seen.length, 0);
  const abs = await raw(http, 'GET http://real.test/x?y=1 HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(abs), 200);
  assert.deepEqual([be.seen[0]?.url, be.seen[0]?.headers.host, be.seen[0]?.headers['x-forwarded-host']], ['/x?y=1', 'real.test', 'real.test']);
});

test('underscore spellings of forwarding headers never reach the upstream', async (t) => {
  const be = await recordingBackend(t);
  for (const trustForwardedHeaders of [false, true]) {
    const { http } = await proxyWith(t, [route('a.test', '/', be.port)], { trustForwardedHeaders });
    await raw(http, 'GET / HTTP/1.1\r\nHost: a.test\r\nX_Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nX_Forwarded_Proto: https\r\nX_Forwarded_Host: evil\r\nX-Custom_Thing: kept\r\nConnection: close\r\n\r\n');
    const headers = be.seen.at(-1)!.headers;
    for (const name of ['x_forwarded_for', 'x_real_ip', 'x_forwarded_proto', 'x_forwarded_host']) assert.equal(headers[name], undefined, name);
    assert.equal(headers['x-custom_thing'], 'kept', 'other underscore headers are untouched');
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  }
});

test('an upstream 101 to a plain request is a prompt 502; bare-LF response lines are served; doubtful framing is not reused', async (t) => {
  const upgrade = await rawBackend(t, () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n');
  const bareLf = await rawBackend(t, () => 'HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello');
  const doubtful = await rawBackend(t, () => 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
  const lines: CapturedLine[] = [];
  const { http } = await proxyWith(t, [route('up.test', '/', upgrade.port), route('lf.test', '/', bareLf.port), route('dbl.test', '/', doubtful.port)], { upstreamTimeoutMs: 30_000 }, lines);
  const started = Date.now();
  assert.equal(statusOf(await raw(http, 'GET / HTTP/1.1\r\nHost: up.test\r\nConnection: close\r\n\r\n', 5000)), 502);
  assert.ok(Date.now() - started < 2000, 'answered at once, not after the upstream timeout');
  assert.ok(lines.some((l) => l['code'] === 'PROXY_UPSTREAM_FAILED' && l['cause'] === 'EUNEXPECTED_UPGRADE' && l['service'] === 'up.test'));

  const lf = await raw(http, 'GET / HTTP/1.1\r\nHost: lf.test\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(lf), 200);
  assert.match(lf, /\r\n\r\nhello$/);

  for (let i = 0; i < 3; i++) {
    // keep-alive from the client: a wrong length passed on would leave it waiting for a byte that never comes
    const answer = await raw(http, 'GET / HTTP/1.1\r\nHost: dbl.test\r\n\r\n', 3000, (got) => got.endsWith('\r\n0\r\n\r\n'));
    assert.equal(statusOf(answer), 200);
    assert.doesNotMatch(answer, /content-length/i, 'the length the body did not follow is not passed on');
    assert.match(answer, /\r\n\r\n2\r\nok\r\n0\r\n\r\n$/);
  }
  assert.equal(doubtful.connections(), 3, 'each response with Content-Length and Transfer-Encoding closed its upstream connection');
});

test('502s are logged at warn with service, upstream and cause by default, and a flood is rate-limited', async (t) => {
  const deadPort = await refusingPort();
  const lines: CapturedLine[] = [];
  const { http } = await proxyWith(t, [route('dead.test', '/', deadPort, 'deadsvc')], {}, lines);
  for (let i = 0; i < 60; i++) assert.equal(statusOf(await raw(http, 'GET / HTTP/1.1\r\nHost: dead.test\r\nConnection: close\r\n\r\n')), 502);
  const warns = lines.filter((l) => l['code'] === 'PROXY_UPSTREAM_FAILED');
  assert.ok(warns.length >= 1 && warns.length <= 20, `${warns.length} warn lines for 60 failures`);
  assert.deepEqual([warns[0]!['service'], warns[0]!['upstream'], warns[0]!['cause'], warns[0]!['status']], ['deadsvc', `127.0.0.1:${deadPort}`, 'ECONNREFUSED', 502]);
  assert.equal(lines.some((l) => l.msg === 'access'), false, 'access log is off by default');
});

test('the access log shows what the client got: 499 when it left before the answer, the cut status when the upstream died mid-body', async (t) => {
  const slow = await startBackend('slow', () => undefined);
  const cut = await rawBackend(t, () => 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', true);
  t.after(() => slow.close());
  const lines: CapturedLine[] = [];
  const { http } = await proxyWith(t, [route('slow.test', '/', slow.port), route('cut.test', '/', cut.port)], { accessLog: true }, lines);
  await raw(http, 'GET /gone HTTP/1.1\r\nHost: slow.test\r\n\r\n', 200);
  await raw(http, 'GET /cut HTTP/1.1\r\nHost: cut.test\r\n\r\n', 1000);
  await new Promise((r) => setTimeout(r, 100));
  const access = (path: string) => lines.find((l) => l.msg === 'access' && l['path'] === path);
  assert.equal(access('/gone')?.['status'], 499);
  assert.equal(access('/gone')?.['aborted'], true);
  assert.equal(access('/cut')?.['status'], 200);
  assert.equal(access('/cut')?.['aborted'], true);
});

test('Connection cannot strip a body\'s framing: Connection: content-length smuggles nothing', async (t) => {
  const be = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('a.test', '/', be.port)]);
  const prefix = 'GET /smuggled HTTP/1.1\r\nHost: a.test\r\nX: y';
  for (const method of ['GET', 'DELETE', 'OPTIONS']) {
    const answer = await raw(http, `${method} /x HTTP/1.1\r\nHost: a.test\r\nConnection: content-length\r\nContent-Length: ${prefix.length}\r\n\r\n${prefix}`, 1500, (got) => /seen \w+ \/x/.test(got));
    assert.equal(statusOf(answer), 200);
    const victim = await raw(http, 'GET /victim HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    assert.match(victim, /seen GET \/victim/, `${method}: the next client gets its own answer`);
  }
  assert.equal(be.seen.some((r) => r.url === '/smuggled'), false);
  assert.ok(be.seen.filter((r) => r.url === '/x').every((r) => r.body === prefix));
});

test('repeated single-value trailers reach an HTTP/2 client joined, and the stream ends', async (t) => {
  const be = await rawBackend(t, () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nEtag: "a"\r\nEtag: "b"\r\nLast-Modified: x\r\nLast-Modified: y\r\nX-Bad: a\x01b\r\n\r\n');
  const cert = makeCert(['a.test']);
  const lines: CapturedLine[] = [];
  const { w, https } = await proxyWith(t, [route('a.test', '/', be.port)], { accessLog: true }, lines);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['a.test'], ...cert }] });
  const session = h2session(https, 'a.test', cert.certPem);
  t.after(() => session.close());
  const stream = session.request({ ':path': '/t' });
  const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let got: Record<string, unknown> = {};
    stream.on('trailers', (h) => (got = h as Record<string, unknown>));
    stream.on('end', () => resolve(got));
    stream.on('error', reject);
    stream.resume();
  });
  assert.equal(trailers['etag'], '"a", "b"');
  assert.equal(trailers['x-bad'], undefined, 'a value with a control character is dropped');
  assert.equal(w.traffic.inFlight, 0, 'the request was settled');
  assert.equal(lines.find((l) => l.msg === 'access' && l['path'] === '/t')?.['status'], 200);
});

test('a 101 without Upgrade, and statuses outside 200-599, are 502 for HTTP/1.1 clients too', async (t) => {
  const bare101 = await rawBackend(t, () => 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
  const odd = await rawBackend(t, () => 'HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n');
  const { http } = await proxyWith(t, [route('b.test', '/', bare101.port), route('o.test', '/', odd.port)]);
  for (const host of ['b.test', 'o.test']) {
    const answer = await raw(http, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 3000);
    assert.match(answer, /^HTTP\/1\.1 502 Bad Gateway\r\n/, host);
  }
});

test('an HTTP/2 client that resets its stream before the answer is logged as 499', async (t) => {
  const slow = await startBackend('slow', () => undefined);
  t.after(() => slow.close());
  const cert = makeCert(['a.test']);
  const lines: CapturedLine[] = [];
  const { w, https } = await proxyWith(t, [route('a.test', '/', slow.port)], { accessLog: true }, lines);
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['a.test'], ...cert }] });
  const session = h2session(https, 'a.test', cert.certPem);
  t.after(() => session.close());
  const stream = session.request({ ':path': '/reset' });
  stream.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 100));
  stream.close(0x8 /* CANCEL */);
  for (let i = 0; i < 50 && !lines.some((l) => l.msg === 'access'); i++) await new Promise((r) => setTimeout(r, 20));
  const access = lines.find((l) => l.msg === 'access' && l['path'] === '/reset');
  assert.equal(access?.['status'], 499);
  assert.equal(access?.['aborted'], true);
});

test('an Upgrade offer other than WebSocket is ignored: the request is answered as a plain one (curl --http2 over http)', async (t) => {
  const be = await recordingBackend(t);
  const { http } = await proxyWith(t, [route('a.test', '/', be.port)]);
  const h2c = await raw(http, 'GET /h2c HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n', 3000);
  assert.equal(statusOf(h2c), 200);
  assert.match(h2c, /seen GET \/h2c/);
  const post = await raw(http, 'POST /p HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 3000);
  assert.equal(statusOf(post), 200);
  const seen = be.seen.find((r) => r.url === '/h2c')!;
  assert.equal(seen.headers.upgrade, undefined);
  assert.equal(seen.headers['http2-settings'], undefined);
  assert.equal(statusOf(await raw(http, 'POST /b HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi', 3000)), 400);
});

test('a WebSocket upgrade the upstream refuses reaches the client with a checked head, and is logged with its status', async (t) => {
  const refuse = await rawBackend(t, () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\nX-Bad: a\x01b\r\nX-Ok: yes\r\n\r\n4\r\nnope\r\n0\r\n\r\n');
  const lines: CapturedLine[] = [];
  const { http } = await proxyWith(t, [route('ws.test', '/', refuse.port)], { accessLog: true }, lines);
  const answer = await raw(http, 'GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 3000);
  assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.doesNotMatch(answer, /content-length|x-bad/i);
  assert.match(answer, /x-ok: yes/i);
  assert.match(answer, /\r\n\r\nnope$/);
  for (let i = 0; i < 50 && !lines.some((l) => l.msg === 'access'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(lines.find((l) => l.msg === 'access')?.['status'], 403);
});

test('a flood of failures for one service does not hide the warn line of another', async (t) => {
  const deadPort = await refusingPort();
  const lines: CapturedLine[] = [];
  const { http } = await proxyWith(t, [route('flood.test', '/', deadPort, 'flood'), route('quiet.test', '/', deadPort, 'quiet')], {}, lines);
  for (let i = 0; i < 40; i++) await raw(http, 'GET / HTTP/1.1\r\nHost: flood.test\r\nConnection: close\r\n\r\n');
  await raw(http, 'GET / HTTP/1.1\r\nHost: quiet.test\r\nConnection: close\r\n\r\n');
  assert.ok(lines.some((l) => l['code'] === 'PROXY_UPSTREAM_FAILED' && l['service'] === 'quiet'));
});
