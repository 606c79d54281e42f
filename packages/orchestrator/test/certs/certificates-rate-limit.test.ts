import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startCertificates } from '../../src/certs/certificates.js';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { captureLog } from '@dispenser/shared/testing/log';
import { closeServer, makeConfig, tempStateDir } from './helpers.js';

/**
 * A CA that rate-limits every account registration with Retry-After: Pebble has no rate limits,
 * so this small stand-in speaks just enough RFC 8555 to get there.
 */
test('a rate-limited order waits as long as the CA\'s Retry-After says', async (t) => {
  let registrations = 0;
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    if (req.url === '/dir') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order` }),
      );
    } else if (req.url === '/nonce') {
      res.writeHead(200, { 'replay-nonce': `n${Date.now()}`, 'cache-control': 'no-store' }).end();
    } else if (req.url === '/account') {
      registrations += 1;
      req.resume();
      res
        .writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '7200', 'replay-nonce': `n${Date.now()}` })
        .end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new registrations from this IP', status: 429 }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => closeServer(server));
  const { port } = server.address() as { port: number };

  const stateDir = await tempStateDir(t);
  const publisher = new MemoryPublisher();
  const certs = await startCertificates(
    makeConfig({ stateDir, services: [{ host: 'limited.example.com' }], certbot: { email: 'ops@example.com', directoryUrl: `http://127.0.0.1:${port}/dir` } }),
    { publisher, dev: false, log: captureLog().log },
  );
  t.after(() => certs.stop());
  await certs.idle();
  const [st] = certs.status();
  assert.equal(st?.error?.code, 'CERT_RATE_LIMITED');
  assert.match(st?.error?.message ?? '', /too many new registrations/);
  const waitMs = (st?.retryAt?.getTime() ?? 0) - Date.now();
  assert.ok(waitMs > 7100_000 && waitMs <= 7200_000, `next attempt in ${waitMs} ms`);
  assert.equal(registrations, 1, 'no immediate retry against a rate limit');
});
