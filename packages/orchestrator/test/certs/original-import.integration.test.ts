import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { infra } from '@dispenser/shared/testing/infra';
import { startCertificates } from '../../src/certs/certificates.js';
import { judgeOriginalCert } from '../../src/certs/original-import.js';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { captureLog } from '@dispenser/shared/testing/log';
import { closeServer, makeConfig, randomHost, startChallengeServer, tempStateDir } from './helpers.js';

const EMAIL = 'original-import@example.com';

async function selfSignedPair(host: string, days = 30) {
  const notAfter = new Date(Date.now() + days * 86_400_000);
  const p = await generate([{ name: 'commonName', value: host }], { keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 86_400_000), notAfterDate: notAfter, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: host }] }] });
  return { certPem: p.cert, keyPem: p.private };
}

test('judgeOriginalCert refuses what must not be served', async () => {
  const now = new Date();
  const a = await selfSignedPair('a.example.com');
  const b = await selfSignedPair('b.example.com');
  const reason = (certPem: string, keyPem: string, host: string, at = now): string => {
    const v = judgeOriginalCert(certPem, keyPem, host, at);
    return v.ok ? 'ok' : v.reason;
  };
  assert.match(reason('not pem', a.keyPem, 'a.example.com'), /not a PEM certificate/);
  assert.match(reason(a.certPem, 'garbage', 'a.example.com'), /not a PEM private key/);
  assert.match(reason(a.certPem, b.keyPem, 'a.example.com'), /does not belong/);
  assert.match(reason(a.certPem, a.keyPem, 'other.example.com'), /does not name other\.example\.com/);
  assert.match(reason(a.certPem, a.keyPem, 'a.example.com', new Date(Date.now() + 60 * 86_400_000)), /expired/);
  // the original's fallback certificates were self-signed: never taken for a CA's
  assert.match(reason(a.certPem, a.keyPem, 'a.example.com'), /self-signed/);
});

test('a certificate the original Dispenser obtained is taken over: served, stored, nothing ordered', async (t) => {
  const env = infra(t, 'pebble');
  if (!env) return;
  const ca = await readFile(env.pebbleCa, 'utf8');
  const certbot = { email: EMAIL, directoryUrl: env.pebbleDirectory };
  const host = randomHost('orig');

  // A real CA-issued pair, obtained in another state directory.
  const issuedDir = await tempStateDir(t);
  const publisher1 = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher1, env.pebbleHttpPort);
  const first = await startCertificates(makeConfig({ stateDir: issuedDir, services: [{ host }], certbot }), { publisher: publisher1, dev: false, acmeCa: ca, log: captureLog().log });
  await first.idle();
  await first.stop();
  await closeServer(challenge);
  const issued = publisher1.cert(host);
  assert.ok(issued, 'Pebble issued a certificate');

  // Laid out as the original left it: .dispenser/certs/<host>.crt and .key
  const stateDir = await tempStateDir(t);
  await mkdir(join(stateDir, 'certs'), { recursive: true });
  await copyFile(join(issuedDir, 'certs', host, 'fullchain.pem'), join(stateDir, 'certs', `${host}.crt`));
  await copyFile(join(issuedDir, 'certs', host, 'privkey.pem'), join(stateDir, 'certs', `${host}.key`));

  // No challenge server now: an order could not complete, so a served certificate is the import.
  const publisher = new MemoryPublisher();
  const { log, lines } = captureLog();
  const certs = await startCertificates(makeConfig({ stateDir, services: [{ host }], certbot }), { publisher, dev: false, acmeCa: ca, log });
  t.after(() => certs.stop());
  await certs.idle();
  const served = publisher.cert(host);
  assert.ok(served, 'the imported certificate is published');
  assert.equal(new X509Certificate(served.certPem).serialNumber, new X509Certificate(issued.certPem).serialNumber);
  assert.equal(await readFile(join(stateDir, 'certs', host, 'fullchain.pem'), 'utf8'), issued.certPem, 'copied into our store');
  assert.equal(await readFile(join(stateDir, 'certs', `${host}.crt`), 'utf8'), issued.certPem, "the original's files are left in place");
  assert.ok(lines.some((l) => String(l.msg).includes('imported the certificate the original Dispenser obtained')));
  assert.equal(certs.status().find((s) => s.host === host)?.error, undefined);
});

test('an unusable leftover of the original is skipped with a warning and a new certificate is ordered', async (t) => {
  const env = infra(t, 'pebble');
  if (!env) return;
  const ca = await readFile(env.pebbleCa, 'utf8');
  const host = randomHost('orig-bad');
  const stateDir = await tempStateDir(t);
  await mkdir(join(stateDir, 'certs'), { recursive: true });
  const leftover = await selfSignedPair(host);
  await writeFile(join(stateDir, 'certs', `${host}.crt`), leftover.certPem);
  await writeFile(join(stateDir, 'certs', `${host}.key`), leftover.keyPem);

  const publisher = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher, env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  const { log, lines } = captureLog();
  const certs = await startCertificates(makeConfig({ stateDir, services: [{ host }], certbot: { email: EMAIL, directoryUrl: env.pebbleDirectory } }), { publisher, dev: false, acmeCa: ca, log });
  t.after(() => certs.stop());
  await certs.idle();
  const warning = lines.find((l) => l.code === 'CERT_ORIGINAL_IMPORT_SKIPPED');
  assert.ok(warning, 'the skipped import is logged with its code');
  assert.match(String(warning.msg), /self-signed/);
  assert.match(new X509Certificate(publisher.cert(host)!.certPem).issuer, /Pebble/);
});

test('an https host without any certificate source is served a self-signed certificate, with a warning', async (t) => {
  const stateDir = await tempStateDir(t);
  const publisher = new MemoryPublisher();
  const { log, lines } = captureLog();
  const certs = await startCertificates(makeConfig({ stateDir, services: [{ host: 'origin.example.com' }] }), { publisher, dev: false, log });
  t.after(() => certs.stop());
  await certs.idle();
  const entry = publisher.cert('origin.example.com');
  assert.ok(entry, 'a certificate is published');
  const x = new X509Certificate(entry.certPem);
  assert.equal(x.issuer, x.subject, 'self-signed');
  assert.equal(x.subjectAltName, 'DNS:origin.example.com');
  assert.ok(lines.some((l) => l.code === 'CERT_SELF_SIGNED_FALLBACK' && l.level === 40), 'logged as a warning with its code');
});
