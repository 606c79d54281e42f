/**
 * Declared routes whose service has no running container (upstream null in the routes snapshot):
 * the table keeps them, the proxy answers 503 with Retry-After for them and 404 only for hosts and
 * paths nothing declares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Route } from '@dispenser/shared/ipc/messages';
import { compileRoutes, lookup } from '../src/table.js';
import { UNAVAILABLE_RETRY_AFTER_S } from '../src/handler.js';
import { captureLog, type CapturedLine } from '@dispenser/shared/testing/log';
import { get, route, startBackend, startProxy } from './helpers.js';

function down(host: string, path: string, service = host): Route {
  return { service, host, path, upstream: null };
}

test('table: a declared route without upstream is found (not undefined) and holds no pool key', () => {
  const table = compileRoutes([route('app.test', '/', 8080, 'app'), down('app.test', '/admin', 'admin'), down('Down.test', '/', 'down')]);
  const admin = lookup(table, 'app.test', '/admin/x');
  assert.equal(admin?.service, 'admin');
  assert.equal(admin?.upstream, null);
  assert.equal(admin?.upstreamKey, null);
  assert.equal(lookup(table, 'down.test', '/anything')?.upstream, null);
  assert.equal(lookup(table, 'app.test', '/')?.upstreamKey, '127.0.0.1:8080');
  assert.equal(lookup(table, 'nobody.test', '/'), undefined);
  assert.deepEqual([...table.upstreams], ['127.0.0.1:8080'], 'no pool for a route without upstream');
});

test('proxy: 503 with Retry-After for a declared service that is not running, 404 for what nobody declares, logged without a failure warn', async (t) => {
  const web = await startBackend('web');
  const lines: CapturedLine[] = [];
  const w = await startProxy({ accessLog: true }, captureLog({ level: 'info', component: 'proxy', into: lines }).log);
  t.after(async () => {
    await w.drain(100);
    await web.close();
  });
  await w.apply({ type: 'routes', version: 1, routes: [route('app.test', '/', web.port, 'app'), down('app.test', '/admin', 'admin'), down('down.test', '/', 'down')] });
  const port = w.listeners.httpPort!;

  const unavailable = await get(port, '/', { host: 'down.test' });
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers['retry-after'], String(UNAVAILABLE_RETRY_AFTER_S));
  assert.match(unavailable.body, /not running/);
  assert.equal((await get(port, '/admin/users', { host: 'app.test' })).status, 503, 'a down prefix of a served host');
  assert.equal((await get(port, '/', { host: 'app.test' })).status, 200, 'the running service beside it is served');
  assert.equal((await get(port, '/', { host: 'nobody.test' })).status, 404);

  // WebSocket upgrades get the same answer
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /ws HTTP/1.1\r\nHost: down.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  let raw = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (raw += c));
  await once(socket, 'close');
  assert.match(raw, /^HTTP\/1\.1 503 /);
  assert.match(raw, new RegExp(`retry-after: ${UNAVAILABLE_RETRY_AFTER_S}\\r\\n`, 'i'));

  await new Promise((r) => setTimeout(r, 50));
  const access = lines.filter((l) => l.msg === 'access' && l.status === 503);
  assert.ok(access.length >= 3, 'every 503 is in the access log');
  assert.ok(access.every((l) => l.upstream === null && typeof l.service === 'string'));
  assert.deepEqual(lines.filter((l) => l.code === 'PROXY_UPSTREAM_FAILED' || l.code === 'PROXY_UPSTREAM_TIMEOUT'), [], 'not an upstream failure');
});

test('proxy: the service coming back (a new snapshot with its upstream) is served at once', async (t) => {
  const web = await startBackend('web');
  const w = await startProxy();
  t.after(async () => {
    await w.drain(100);
    await web.close();
  });
  await w.apply({ type: 'routes', version: 1, routes: [down('app.test', '/', 'app')] });
  const port = w.listeners.httpPort!;
  assert.equal((await get(port, '/', { host: 'app.test' })).status, 503);
  await w.apply({ type: 'routes', version: 2, routes: [route('app.test', '/', web.port, 'app')] });
  assert.equal((await get(port, '/', { host: 'app.test' })).status, 200);
});
