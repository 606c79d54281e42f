import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { quickAckUnavailable } from '../../src/tuning/quick-ack.js';
import { captureLog } from '@dispenser/shared/testing/log';
import { route, startProxy } from '../helpers.js';

const HEAD_PART = 60 * 1024;
const TAIL = 4 * 1024;

/**
 * A backend that answers every GET like nginx with sendfile does: most of the body in one write,
 * the last page in a second one, with Nagle's algorithm on (net sockets' default). The kernel
 * holds the short tail until the client has acknowledged the first part.
 */
async function nagleBackend(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const body = Buffer.alloc(HEAD_PART + TAIL, 'x');
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4);
        // one segment: the head and most of the body, as nginx sends them when it uncorks
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body.subarray(0, HEAD_PART)]));
        socket.write(body.subarray(HEAD_PART));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** Median time of `n` sequential GETs on one keep-alive connection, after two warm-up requests. */
async function medianMs(port: number, host: string, n: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const times: number[] = [];
    for (let i = 0; i < n + 2; i++) {
      const started = performance.now();
      const length = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => resolve(bytes));
          res.on('error', reject);
        }).on('error', reject).end();
      });
      assert.equal(length, HEAD_PART + TAIL);
      if (i >= 2) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    agent.destroy();
  }
}

test('a backend that holds the tail of a response under Nagle is not made to wait for a delayed ACK', async (t) => {
  if (quickAckUnavailable) {
    assert.notEqual(process.env.DISPENSER_REQUIRE_NATIVE, '1', `the quick-ack addon must load here: ${quickAckUnavailable}`);
    t.skip(`quick-ack addon unavailable: ${quickAckUnavailable}`);
    return;
  }
  const backend = await nagleBackend();
  t.after(() => backend.close());

  // The stall this guards against, seen by a plain client straight to the backend.
  const direct = await medianMs(backend.port, 'direct', 10);
  if (direct < 30) {
    t.skip(`this kernel does not delay the ACK here (median ${direct.toFixed(1)} ms direct)`);
    return;
  }

  const w = await startProxy({}, captureLog({ level: 'info', component: 'proxy' }).log);
  t.after(() => w.drain(100));
  await w.apply({ type: 'routes', version: 1, routes: [route('nagle.test', '/', backend.port)] });
  const proxied = await medianMs(w.listeners.httpPort!, 'nagle.test', 10);
  assert.ok(proxied < 20, `median ${proxied.toFixed(1)} ms through the proxy (${direct.toFixed(1)} ms straight to the backend): the upstream ACK was delayed`);
});
