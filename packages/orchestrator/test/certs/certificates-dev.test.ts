import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startCertificates } from '../../src/certs/certificates.js';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { captureLog } from '@dispenser/shared/testing/log';
import { makeConfig, servedCertificate, tempStateDir } from './helpers.js';

test('dev mode: a self-signed EC/SHA-256 certificate per host, cached between runs, no ACME', async (t) => {
  const stateDir = await tempStateDir(t);
  const hosts = ['app.example.com', 'localhost'];
  // [certbot] present: dev mode must not contact any CA (the directory would fail).
  const config = makeConfig({ stateDir, services: hosts.map((host) => ({ host })), certbot: { email: 'a@example.com', directoryUrl: 'https://127.0.0.1:1/dir' } });
  const publisher = new MemoryPublisher();
  const { log } = captureLog();
  const started = Date.now();
  const certs = await startCertificates(config, { publisher, dev: true, log });
  await certs.idle();
  const firstRunMs = Date.now() - started;
  await certs.stop();

  assert.deepEqual(publisher.certs.map((c) => c.hosts), [['app.example.com'], ['localhost']]);
  for (const entry of publisher.certs) {
    const x = new X509Certificate(entry.certPem);
    const host = entry.hosts[0]!;
    assert.equal(x.issuer, x.subject, 'self-signed');
    assert.equal(x.subjectAltName, `DNS:${host}`);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(createPrivateKey(entry.keyPem).asymmetricKeyType, 'ec');
    assert.ok(x.checkPrivateKey(createPrivateKey(entry.keyPem)));
    assert.match(x.toLegacyObject().asn1Curve ?? '', /prime256v1/);
    assert.equal((await stat(join(stateDir, 'dev-certs', host, 'privkey.pem'))).mode & 0o777, 0o600);
  }
  const served = await servedCertificate(publisher.certs, 'app.example.com');
  assert.equal(served.peer.subject.CN, 'app.example.com');
  assert.equal(served.peer.subjectaltname, 'DNS:app.example.com');
  assert.equal(certs.status().every((s) => s.error === undefined && s.source === 'self-signed'), true);

  // Second run: same certificates from the cache (an accepted browser exception keeps working).
  const publisher2 = new MemoryPublisher();
  const again = await startCertificates(config, { publisher: publisher2, dev: true, log });
  t.after(() => again.stop());
  assert.deepEqual(publisher2.certs, publisher.certs);
  assert.ok(firstRunMs < 10_000);
});

test('dev mode signs with SHA-256 (selfsigned defaults to SHA-1)', async (t) => {
  const stateDir = await tempStateDir(t);
  const publisher = new MemoryPublisher();
  const certs = await startCertificates(makeConfig({ stateDir, services: [{ host: 'sig.example.com' }] }), { publisher, dev: true, log: captureLog().log });
  t.after(() => certs.stop());
  const pem = publisher.certs[0]?.certPem ?? '';
  const { execFileSync } = await import('node:child_process');
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
});
