import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { probeHttp, probeTcp } from '../../src/rollout/probes.js';

async function listen(server: http.Server | net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

test('HTTP probe against a real listener: status, Host header, timeout, refused', async (t) => {
  const hosts: string[] = [];
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    if (req.url === '/ok') res.end('ok');
    else if (req.url === '/moved') res.writeHead(301, { location: '/ok' }).end();
    else if (req.url === '/down') res.writeHead(503).end();
    // '/hang': never answers
  });
  const port = await listen(server);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  assert.deepEqual(await probeHttp('127.0.0.1', port, '/ok', 1000, 'app.example.com'), { ok: true, detail: 'HTTP 200' });
  assert.equal(hosts.at(-1), 'app.example.com', 'the public host name, as the proxy sends it');
  assert.deepEqual(await probeHttp('127.0.0.1', port, '/moved', 1000), { ok: true, detail: 'HTTP 301' });
  assert.deepEqual(await probeHttp('127.0.0.1', port, '/down', 1000), { ok: false, detail: 'HTTP 503' });
  const started = Date.now();
  assert.deepEqual(await probeHttp('127.0.0.1', port, '/hang', 300), { ok: false, detail: 'no answer within 300 ms' });
  assert.ok(Date.now() - started < 1000);
  // a port that was just free: nothing listens there any more after close
  const probe = net.createServer();
  const freePort = await listen(probe);
  probe.close();
  assert.deepEqual(await probeHttp('127.0.0.1', freePort, '/', 1000), { ok: false, detail: 'ECONNREFUSED' });
});

test('TCP probe: accepting port vs refused', async (t) => {
  const server = net.createServer((s) => s.destroy());
  const port = await listen(server);
  t.after(() => server.close());
  assert.equal((await probeTcp('127.0.0.1', port, 1000)).ok, true);
  const probe = net.createServer();
  const freePort = await listen(probe);
  probe.close();
  assert.deepEqual(await probeTcp('127.0.0.1', freePort, 1000), { ok: false, detail: 'ECONNREFUSED' });
});
