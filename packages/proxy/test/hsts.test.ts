import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { get, h2get, h2session, makeCert, route, startBackend, startProxy } from './helpers.js';

/** Strict-Transport-Security: only over TLS, only on routes that ask for it, never twice. */

const cert = makeCert(['s.test', 'own.test', 'off.test']);

function h1tls(port: number, host: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, servername: host, ca: cert.certPem, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.rawHeaders.reduce<IncomingHttpHeaders>((acc, v, i, raw) => {
        if (i % 2 === 0) {
          const name = v.toLowerCase();
          acc[name] = acc[name] === undefined ? raw[i + 1] : `${String(acc[name])} | ${raw[i + 1]}`;
        }
        return acc;
      }, {})));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HSTS: added to HTTPS responses of routes that ask for it (HTTP/1.1 and HTTP/2), never on plain HTTP, not duplicated', async (t) => {
  const be = await startBackend('be', (req, res) => {
    if (req.headers.host?.startsWith('own.test')) res.setHeader('Strict-Transport-Security', 'max-age=5');
    res.end('ok');
  });
  t.after(() => be.close());
  const w = await startProxy({ strategy: 'both' });
  t.after(() => w.drain(100));
  const policy = { maxAgeSeconds: 31_536_000, includeSubDomains: true };
  await w.apply({
    type: 'routes',
    version: 1,
    routes: [{ ...route('s.test', '/', be.port), hsts: policy }, { ...route('own.test', '/', be.port), hsts: policy }, route('off.test', '/', be.port)],
  });
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['s.test', 'own.test', 'off.test'], ...cert }] });
  const https = w.listeners.httpsPort!;
  const want = 'max-age=31536000; includeSubDomains';

  assert.equal((await h1tls(https, 's.test'))['strict-transport-security'], want);
  assert.equal((await h1tls(https, 'own.test'))['strict-transport-security'], 'max-age=5', "the service's own header, once");
  assert.equal((await h1tls(https, 'off.test'))['strict-transport-security'], undefined);

  const session = h2session(https, 's.test', cert.certPem);
  t.after(() => session.close());
  assert.equal((await h2get(session, '/')).headers['strict-transport-security'], want);
  const own = h2session(https, 'own.test', cert.certPem);
  t.after(() => own.close());
  assert.equal((await h2get(own, '/')).headers['strict-transport-security'], 'max-age=5');

  const plain = await get(w.listeners.httpPort!, '/', { host: 's.test' });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['strict-transport-security'], undefined, 'RFC 6797: never over plain HTTP');
});
