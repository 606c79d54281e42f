import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { startCertificates } from '../../src/certs/certificates.js';
import { loadCertFiles } from '../../src/certs/cert-files.js';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { captureLog } from '@dispenser/shared/testing/log';
import { makeConfig, servedCertificate, tempStateDir } from './helpers.js';

const DAY = 86_400_000;

async function makeCert(host: string, opts: { days?: number; cn?: string } = {}) {
  const now = Date.now();
  return generate([{ name: 'commonName', value: opts.cn ?? host }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + (opts.days ?? 90) * DAY),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: host }] }],
  });
}

async function writePair(dir: string, name: string, pems: { cert: string; private: string }) {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, pems.cert);
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  return { certFile, keyFile };
}

test('loadCertFiles: checks the pair and warns about expiry and host names', async (t) => {
  const dir = join(await tempStateDir(t), 'files');
  const host = 'files.example.com';
  const now = new Date();
  const good = await writePair(dir, 'good', await makeCert(host));
  const loaded = await loadCertFiles(host, good.certFile, good.keyFile, now);
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.info.dnsNames, [host]);

  const soon = await writePair(dir, 'soon', await makeCert(host, { days: 3 }));
  assert.deepEqual((await loadCertFiles(host, soon.certFile, soon.keyFile, now)).warnings.map((w) => w.code), ['CERT_EXPIRING']);
  const expired = await loadCertFiles(host, soon.certFile, soon.keyFile, new Date(now.getTime() + 10 * DAY));
  assert.match(expired.warnings[0]?.message ?? '', /expired/);
  assert.deepEqual((await loadCertFiles('other.example.com', good.certFile, good.keyFile, now)).warnings.map((w) => w.code), ['CERT_HOST_NOT_COVERED']);

  const other = await makeCert(host);
  const mismatched = { certFile: good.certFile, keyFile: join(dir, 'other.key') };
  await writeFile(mismatched.keyFile, other.private);
  const cases: [string, string, string, string][] = [
    ['key of another certificate', mismatched.certFile, mismatched.keyFile, 'CERT_KEY_MISMATCH'],
    ['missing key file', good.certFile, join(dir, 'nope.key'), 'CERT_KEY_FILE_UNREADABLE'],
    ['key path is a directory (unreadable even as root)', good.certFile, dir, 'CERT_KEY_FILE_UNREADABLE'],
    ['missing cert file', join(dir, 'nope.pem'), good.keyFile, 'CERT_FILE_UNREADABLE'],
    ['key file is not a key', good.certFile, good.certFile, 'CERT_FILE_INVALID'],
    ['cert file is not a certificate', good.keyFile, good.keyFile, 'CERT_FILE_INVALID'],
  ];
  for (const [name, certFile, keyFile, code] of cases) {
    await assert.rejects(loadCertFiles(host, certFile, keyFile, now), (err: { code?: string; message?: string }) => {
      assert.equal(err.code, code, name);
      assert.ok(err.message?.includes(host), `${name}: the message names the host`);
      return true;
    });
  }
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked.key');
    await writeFile(locked, (await makeCert(host)).private);
    await chmod(locked, 0o000);
    await assert.rejects(loadCertFiles(host, good.certFile, locked, now), { code: 'CERT_KEY_FILE_UNREADABLE' });
  }
});

test('cert_file/key_file are served, a replacement on disk is picked up, a broken one keeps the old', async (t) => {
  const stateDir = await tempStateDir(t);
  const dir = join(stateDir, '..', 'tls');
  const host = 'rotate.example.com';
  const bad = 'broken.example.com';
  const first = await makeCert(host);
  const files = await writePair(dir, 'site', first);
  const badFiles = { certFile: files.certFile, keyFile: join(dir, 'missing.key') };
  const publisher = new MemoryPublisher();
  const { log } = captureLog();
  const certs = await startCertificates(
    makeConfig({ stateDir, services: [{ host, ...files }, { host: bad, ...badFiles }] }),
    { publisher, dev: false, log, fileDebounceMs: 50 },
  );
  t.after(() => certs.stop());
  assert.equal(publisher.cert(host)?.certPem, first.cert);
  assert.equal(publisher.cert(bad), undefined);
  const status = new Map(certs.status().map((s) => [s.host, s]));
  assert.equal(status.get(bad)?.error?.code, 'CERT_KEY_FILE_UNREADABLE');
  assert.equal(status.get(host)?.error, undefined);

  const served = await servedCertificate(publisher.certs, host);
  assert.equal(served.peer.subjectaltname, `DNS:${host}`);

  // Rotation the way certbot/acme.sh do it: write new files, rename over the old ones.
  const second = await makeCert(host, { cn: 'second' });
  await writeFile(`${files.keyFile}.new`, second.private, { mode: 0o600 });
  await writeFile(`${files.certFile}.new`, second.cert);
  await rename(`${files.keyFile}.new`, files.keyFile);
  await rename(`${files.certFile}.new`, files.certFile);
  await publisher.waitFor((p) => p.cert(host)?.certPem === second.cert, 5_000);
  assert.equal((await servedCertificate(publisher.certs, host)).peer.subject.CN, 'second');

  // A half-done replacement (new cert, old key) is refused; the working pair keeps serving.
  const third = await makeCert(host, { cn: 'third' });
  const before = publisher.certSnapshots;
  await writeFile(files.certFile, third.cert);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(publisher.certSnapshots, before);
  assert.equal(publisher.cert(host)?.certPem, second.cert);
  assert.equal(certs.status().find((s) => s.host === host)?.error?.code, 'CERT_KEY_MISMATCH');
  // ...and completing it recovers.
  await writeFile(files.keyFile, third.private);
  await publisher.waitFor((p) => p.cert(host)?.certPem === third.cert, 5_000);
  assert.equal(certs.status().find((s) => s.host === host)?.error, undefined);
});
