import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { makeCert, route, startProxy } from './helpers.js';

const GAP_MS = 5;

/** A backend that streams each response in two parts GAP_MS apart, as a server sending events does. */
async function streamingBackend(): Promise<{ port: number; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('a'.repeat(1024));
    setTimeout(() => res.end('b'.repeat(1024)), GAP_MS);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

test('HTTPS/1.1: the later parts of a streamed response leave at once, not after the client acknowledges the first', async (t) => {
  const backend = await streamingBackend();
  t.after(() => new Promise<void>((r) => backend.server.close(() => r())));
  backend.server.on('connection', (s) => t.after(() => s.destroy()));
  const cert = makeCert(['stream.test']);
  const w = await startProxy();
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes: [route('stream.test', '/', backend.port)] });
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['stream.test'], ...cert }] });

  // one keep-alive connection: after a few exchanges Linux delays the client's ACKs (up to 40
  // ms), and with Nagle's algorithm on the proxy holds the second part until that ACK
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cert.certPem, servername: 'stream.test' });
  t.after(() => agent.destroy());
  const times: number[] = [];
  for (let i = 0; i < 14; i++) {
    const started = performance.now();
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port: w.listeners.httpsPort!, path: '/', headers: { host: 'stream.test' }, agent }, (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    assert.equal(body.length, 2048);
    if (i >= 4) times.push(performance.now() - started);
  }
  // a held part waits for the client's delayed ACK, at least ~40 ms, on nearly every response;
  // the lower quartile is what a busy machine leaves of the honest timing
  times.sort((a, b) => a - b);
  const quartile = times[Math.floor(times.length / 4)]!;
  assert.ok(quartile < GAP_MS + 25, `lower quartile ${quartile.toFixed(1)} ms (all: ${times.map((x) => x.toFixed(0)).join(', ')}) for a response whose parts are ${GAP_MS} ms apart: the second part waited for the client's ACK`);
});
