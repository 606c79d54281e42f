import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { generate } from 'selfsigned';
import { infra, type Infra } from '@dispenser/shared/testing/infra';
import { startCertificates, type Certificates } from '../../src/certs/certificates.js';
import { accountFiles } from '../../src/certs/acme-account.js';
import { inspectCertificate } from '../../src/certs/pem.js';
import { CertStore } from '../../src/certs/store.js';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { captureLog } from '@dispenser/shared/testing/log';
import { closeServer, makeConfig, randomHost, servedCertificate, startChallengeServer, tempStateDir } from './helpers.js';

const EMAIL = 'certs-test@example.com';

async function pebbleRoot(env: Infra): Promise<string | undefined> {
  // Pebble makes a new issuing root at every start; its management API hands it out.
  const ca = await readFile(env.pebbleCa, 'utf8');
  const url = new URL(env.pebbleManagement);
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: Number(url.port), path: '/roots/0', agent: new Agent({ ca }), timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function setup(t: Parameters<typeof infra>[0] & { after(fn: () => Promise<void>): void }) {
  const env = infra(t, 'pebble');
  if (!env) return undefined;
  const stateDir = await tempStateDir(t);
  const ca = await readFile(env.pebbleCa, 'utf8');
  const certbot = { email: EMAIL, directoryUrl: env.pebbleDirectory };
  return { env, stateDir, ca, certbot };
}

/** Starts the manager and stops it when the test ends, even on failure. */
async function start(t: { after(fn: () => Promise<void>): void }, ...[config, deps]: Parameters<typeof startCertificates>): Promise<Certificates> {
  const certs = await startCertificates(config, { log: captureLog().log, ...deps });
  t.after(() => certs.stop());
  return certs;
}

test('issues a certificate over HTTP-01 and serves it by SNI', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const publisher = new MemoryPublisher();
  // Tokens reach the proxy slowly: the CA must only be asked to validate once they have arrived.
  publisher.challengeDelayMs = 300;
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  const host = randomHost('issue');
  const certs = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: s.certbot }), { publisher, dev: false, acmeCa: s.ca });
  await certs.idle();

  const entry = publisher.cert(host);
  assert.ok(entry, `a certificate for ${host} was published`);
  // The token was published before validation and withdrawn after it.
  assert.ok(publisher.challengeHistory.some((tokens) => Object.keys(tokens).length === 1));
  assert.deepEqual(publisher.tokens, {});
  assert.ok(challenge.hits.some((h) => h.startsWith('/.well-known/acme-challenge/')), 'the CA fetched the token');

  const root = await pebbleRoot(s.env);
  const served = await servedCertificate(publisher.certs, host, root);
  assert.match(String(served.peer.issuer.CN), /Pebble Intermediate CA/);
  assert.equal(served.peer.subjectaltname, `DNS:${host}`);
  if (root) assert.equal(served.authorized, true, served.authorizationError);

  // Stored for the next start: key private, chain beside it.
  const dir = join(s.stateDir, 'certs', host);
  assert.equal((await stat(join(dir, 'privkey.pem'))).mode & 0o777, 0o600);
  assert.equal(await readFile(join(dir, 'fullchain.pem'), 'utf8'), entry.certPem);
  assert.deepEqual(certs.status().map((x) => [x.host, x.source, x.error]), [[host, 'acme', undefined]]);
});

test('a restart serves the stored certificate at once and reuses the account for new hosts', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const publisher = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  const first = randomHost('first');
  const one = await startCertificates(makeConfig({ stateDir: s.stateDir, services: [{ host: first }], certbot: s.certbot }), { publisher, dev: false, acmeCa: s.ca, log: captureLog().log });
  await one.idle();
  await one.stop();
  const issued = publisher.cert(first)?.certPem;
  assert.ok(issued);
  const files = accountFiles(s.stateDir, s.certbot.directoryUrl, EMAIL);
  const key = await readFile(files.keyFile, 'utf8');
  const record = await readFile(files.recordFile, 'utf8');
  assert.equal((await stat(files.keyFile)).mode & 0o777, 0o600);

  // "Restart": a fresh manager on the same state directory, with one more host.
  const second = randomHost('second');
  const publisher2 = new MemoryPublisher();
  challenge.removeAllListeners('request');
  challenge.on('request', (req, res) => {
    const token = /acme-challenge\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    const answer = token ? publisher2.tokens[token] : undefined;
    res.writeHead(answer ? 200 : 404).end(answer ?? '');
  });
  const { log, lines } = captureLog();
  const two = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host: first }, { host: second }], certbot: s.certbot }), {
    publisher: publisher2,
    dev: false,
    acmeCa: s.ca,
    log,
  });
  // Before any order completes, the stored certificate is already published.
  assert.equal(publisher2.certSnapshots >= 1, true);
  assert.equal(publisher2.cert(first)?.certPem, issued);
  await two.idle();
  assert.ok(publisher2.cert(second), 'the new host got a certificate');
  assert.equal(publisher2.cert(first)?.certPem, issued, 'the stored certificate was not re-ordered');
  assert.equal(await readFile(files.keyFile, 'utf8'), key, 'same account key');
  assert.equal(await readFile(files.recordFile, 'utf8'), record, 'same account');
  const messages = lines.map((l) => l.msg);
  assert.ok(messages.includes('ACME account reused'));
  assert.ok(!messages.includes('ACME account registered'));
  assert.equal(lines.filter((l) => l.msg === 'ordering certificate').length, 1);
});

async function storeExpiring(stateDir: string, host: string, days: number): Promise<string> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 80 * 86_400_000),
    notAfterDate: new Date(now + days * 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: host }] }],
  });
  await mkdir(join(stateDir, 'certs'), { recursive: true });
  await new CertStore(join(stateDir, 'certs')).save(host, { certPem: pems.cert, keyPem: pems.private });
  return pems.cert;
}

test('renews a stored certificate that expires within 30 days', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const host = randomHost('renew');
  const old = await storeExpiring(s.stateDir, host, 5);
  const publisher = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  const certs = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: s.certbot }), { publisher, dev: false, acmeCa: s.ca });
  assert.equal(publisher.cert(host)?.certPem, old, 'the old certificate serves while renewing');
  await certs.idle();
  const renewed = publisher.cert(host)?.certPem;
  assert.ok(renewed && renewed !== old);
  assert.match(inspectCertificate(renewed).issuer, /Pebble/);
  assert.ok(inspectCertificate(renewed).notAfter.getTime() > Date.now() + 30 * 86_400_000);
});

test('renewal is driven by the clock: a certificate 31 days from expiry is renewed once now moves 2 days on', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const host = randomHost('clock');
  const old = await storeExpiring(s.stateDir, host, 31);
  const publisher = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  let offset = 0;
  const certs = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: s.certbot }), {
    publisher,
    dev: false,
    acmeCa: s.ca,
    now: () => new Date(Date.now() + offset),
    checkIntervalMs: 200,
  });
  await certs.idle();
  assert.equal(publisher.cert(host)?.certPem, old, 'not renewed while more than 30 days remain');
  offset = 2 * 86_400_000;
  await publisher.waitFor((p) => p.cert(host)?.certPem !== old);
  assert.match(inspectCertificate(publisher.cert(host)!.certPem).issuer, /Pebble/);
});

test('an unreachable CA keeps the current certificate serving and backs off', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const host = randomHost('down');
  const old = await storeExpiring(s.stateDir, host, 5);
  const publisher = new MemoryPublisher();
  const certs = await start(
    t,
    makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: { email: EMAIL, directoryUrl: 'https://127.0.0.1:1/dir' } }),
    { publisher, dev: false, acmeCa: s.ca },
  );
  await certs.idle();
  assert.equal(publisher.cert(host)?.certPem, old);
  const [st] = certs.status();
  assert.equal(st?.error?.code, 'CERT_CA_UNREACHABLE');
  assert.match(st?.error?.message ?? '', /127\.0\.0\.1:1/);
  assert.equal(st?.failures, 1);
  assert.ok(st?.retryAt && st.retryAt.getTime() > Date.now() + 50_000, 'next attempt is backed off');
});

test('a reload that changes the CA retries at once; a reload with the same CA keeps the backoff', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const host = randomHost('fixca');
  const old = await storeExpiring(s.stateDir, host, 5);
  const publisher = new MemoryPublisher();
  const config = (directoryUrl: string) => makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: { email: EMAIL, directoryUrl } });
  const certs = await start(t, config('https://127.0.0.1:1/dir'), { publisher, dev: false, acmeCa: s.ca });
  await certs.idle();
  assert.equal(certs.status()[0]?.failures, 1);

  await certs.update(config('https://127.0.0.1:1/dir'));
  await certs.idle();
  assert.equal(certs.status()[0]?.failures, 1, 'same CA: no new attempt before the backoff is over');

  await certs.update(config('https://127.0.0.1:2/dir'));
  await certs.idle();
  const [st] = certs.status();
  assert.match(st?.error?.message ?? '', /127\.0\.0\.1:2/, 'the new CA was tried right away');
  assert.equal(st?.failures, 1, 'failures against the previous CA do not count');
  assert.equal(publisher.cert(host)?.certPem, old, 'still serving the stored certificate');
});

test('per-host faults: invalid host name, unreachable challenge; other hosts still get certificates', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const good = randomHost('good');
  const unreachable = randomHost('unreach');
  const publisher = new MemoryPublisher();
  // Port 80 of the unreachable host leads somewhere that does not know the token.
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort, (hostHeader) => hostHeader !== unreachable);
  t.after(() => closeServer(challenge));
  const certs = await start(
    t,
    makeConfig({ stateDir: s.stateDir, services: [{ host: good }, { host: unreachable }, { host: 'bad_name.dispenser.test' }], certbot: s.certbot }),
    { publisher, dev: false, acmeCa: s.ca },
  );
  await certs.idle();
  const byHost = new Map(certs.status().map((x) => [x.host, x]));
  assert.ok(publisher.cert(good), 'the good host is served');
  assert.equal(byHost.get(good)?.error, undefined);
  assert.equal(byHost.get('bad_name.dispenser.test')?.error?.code, 'CERT_INVALID_HOST');
  assert.equal(byHost.get(unreachable)?.error?.code, 'CERT_CHALLENGE_FAILED');
  assert.equal(publisher.cert(unreachable), undefined);
});

test('an invalid email is reported per host without contacting the CA', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const publisher = new MemoryPublisher();
  const host = randomHost('email');
  const certs = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host }], certbot: { email: 'not-an-email', directoryUrl: s.env.pebbleDirectory } }), {
    publisher,
    dev: false,
    acmeCa: s.ca,
  });
  await certs.idle();
  const [st] = certs.status();
  assert.equal(st?.error?.code, 'CERT_INVALID_EMAIL');
  assert.match(st?.error?.hint ?? '', /\[certbot\] email/);
});

test('a reload orders new hosts at once and stops renewing removed ones', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const publisher = new MemoryPublisher();
  const challenge = await startChallengeServer(publisher, s.env.pebbleHttpPort);
  t.after(() => closeServer(challenge));
  const a = randomHost('a');
  const b = randomHost('b');
  const certs = await start(t, makeConfig({ stateDir: s.stateDir, services: [{ host: a }], certbot: s.certbot }), { publisher, dev: false, acmeCa: s.ca });
  await certs.idle();
  assert.ok(publisher.cert(a));
  await certs.update(makeConfig({ stateDir: s.stateDir, services: [{ host: b }], certbot: s.certbot }));
  await certs.idle();
  assert.ok(publisher.cert(b), 'new host ordered right away');
  assert.equal(publisher.cert(a), undefined, 'removed host no longer served');
  assert.deepEqual(certs.status().map((x) => x.host), [b]);
});
