/**
 * Certificates end to end through the real CLI: supervisor, orchestrator (certificate manager),
 * proxy workers, a real engine and Pebble. Pebble validates HTTP-01 on 127.0.0.1:5002, which is
 * the daemon's http_port here, so every challenge is answered by the real proxy workers.
 * Port 5002 is shared with packages/orchestrator/test/certs (lockPort serialises the two).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { infra } from '@dispenser/shared/testing/infra';
import { lockPort } from '@dispenser/shared/testing/port-lock';
import { startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { buildAndPush, docker, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get } from '../helpers/http.js';
import { writeStack, type Stack } from '../helpers/stack.js';
import { freePort, waitForPortFree, opensslSelfSigned, pebbleRoot, peerCertificate, waitForHttps, waitForPeer } from '../helpers/tls.js';

/** Stops the daemon (releasing port 5002), then removes what the test created, best effort. */
async function tearDown(daemon: Daemon | undefined, instance: string, ref: string, stack: Stack, unlock?: () => void): Promise<void> {
  await daemon?.stop().catch(() => undefined);
  unlock?.();
  try {
    removeInstance(instance);
  } catch {
    // best effort
  }
  try {
    docker('rmi', '-f', ref);
  } catch {
    // not built
  }
  stack.remove();
}

const ISSUE_TIMEOUT_MS = 90_000;

test('certificates: ACME through the real proxy, restart, cert files, reload (real CLI + Pebble)', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry', 'pebble');
  if (!env) return;
  const id = randomName('c').slice(2);
  const instance = `test-certs-e2e-${id}`;
  const appHost = `app-${id}.test`;
  const filesHost = `files-${id}.test`;
  const app2Host = `app2-${id}.test`;
  const ref = `${env.registry}/certs-e2e-${id}:v1`;
  const httpsPort = await freePort();
  const daemonEnv = { DISPENSER_INSTANCE: instance, NODE_EXTRA_CA_CERTS: env.pebbleCa };

  const serviceToml = (name: string, host: string, extraProxy = ''): string => `
[service]
name = "${name}-${id}"
image = "${ref}"

[env]
BODY = "${name} ${id}"

[dispenser]
watch = false

[proxy]
host = "${host}"
service_port = 8080
${extraProxy}
`;
  const mainToml = (services: string[]): string => `
delay = 3600

[proxy]
strategy = "https-only"
http_port = ${env.pebbleHttpPort}
https_port = ${httpsPort}
bind = "127.0.0.1"
workers = 2

[certbot]
email = "e2e-${id}@example.com"
directory_url = "${env.pebbleDirectory}"

${services.map((s) => `[[service]]\npath = "${s}"\n`).join('\n')}
`;

  // Our own certificate files for the cert_file host, in the service's directory.
  const first = opensslSelfSigned(filesHost, `${filesHost} first`);
  const stack = writeStack(mainToml(['app', 'files']), {
    app: serviceToml('app', appHost),
    files: serviceToml('files', filesHost, 'cert_file = "tls/fullchain.pem"\nkey_file = "tls/privkey.pem"'),
  });
  stack.write('files/tls/fullchain.pem', first.certPem);
  stack.write('files/tls/privkey.pem', first.keyPem);

  let daemon: Daemon | undefined;
  let unlock: (() => void) | undefined;
  // release port 5002 and the engine objects even when a step failed
  t.after(() => tearDown(daemon, instance, ref, stack, unlock));

  buildAndPush(ref, {
    base: env.baseImage,
    cmd: ['sh', '-c', 'trap "exit 0" TERM; mkdir -p /www/api; echo "$BODY" > /www/index.html; cp /www/index.html /www/api/; httpd -f -p 8080 -h /www & wait'],
  });
  const root = await pebbleRoot(env.pebbleCa, env.pebbleManagement);
  const forHost = (host: string, msg: string) => (l: LogLine) => l.host === host && l.msg === msg;

  // Pebble's HTTP-01 port is shared with the certificate package tests, which may run in parallel
  unlock = await lockPort(env.pebbleHttpPort);
  await waitForPortFree(env.pebbleHttpPort);
  daemon = startDaemon(['-c', stack.configFile], daemonEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);

  let appSerial = '';
  let filesPem = first.certPem;
  let accountUrl = '';
  let accountKey = '';

  await t.test('a proxied host gets a certificate from the CA; HTTPS with SNI serves the page with a chain to Pebble', async () => {
    const failed = daemon!.waitForLog((l) => l.host === appHost && l.level === 50, ISSUE_TIMEOUT_MS).then(
      (l) => Promise.reject(new Error(`order failed: ${JSON.stringify(l)}`)),
      () => new Promise<never>(() => undefined),
    );
    const issued = await Promise.race([daemon!.waitForLog(forHost(appHost, 'certificate issued'), ISSUE_TIMEOUT_MS), failed]);
    // the token went to every proxy worker (the only listener on Pebble's validation port) first
    const challengesApplied = daemon!.lines.findIndex((l) => l.msg === 'snapshot applied by every proxy worker' && l.kind === 'challenges');
    assert.ok(challengesApplied >= 0 && challengesApplied < daemon!.lines.indexOf(issued), 'a challenges snapshot reached every proxy worker before the certificate was issued');
    const registered = daemon!.lines.find((l) => l.msg === 'ACME account registered');
    assert.ok(registered, 'a new ACME account was registered on first use');
    accountUrl = String(registered.accountUrl);

    // the page, over a chain verified against Pebble's current root
    const reply = await waitForHttps(httpsPort, appHost, '/', root, (r) => r.status === 200);
    assert.equal(reply.body.trim(), `app ${id}`);

    const peer = await peerCertificate(httpsPort, appHost, root);
    assert.ok(peer.authorized, `chain verifies against Pebble's root: ${peer.authorizationError}`);
    assert.match(String(peer.cert.issuer.CN), /^Pebble Intermediate CA/);
    assert.equal(peer.cert.subjectaltname, `DNS:${appHost}`);
    appSerial = peer.cert.serialNumber;

    // stored: key private, directory private
    const dir = join(stack.dir, '.dispenser', 'certs', appHost);
    assert.equal(statSync(join(dir, 'privkey.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const stored = new X509Certificate(readFileSync(join(dir, 'fullchain.pem')));
    assert.equal(stored.serialNumber.toLowerCase(), appSerial.toLowerCase());
  });

  await t.test('https-only: the HTTP port redirects normal paths to https, but is no catch-all for challenge paths', async () => {
    const r = await get(env.pebbleHttpPort, '/some/page?q=1', appHost);
    assert.equal(r.status, 301);
    assert.equal(String(r.headers.location), `https://${appHost}:${httpsPort}/some/page?q=1`);
    const unknownToken = await get(env.pebbleHttpPort, '/.well-known/acme-challenge/not-a-token', appHost);
    assert.equal(unknownToken.status, 404, 'an unknown ACME token is a 404, not a redirect');
  });

  await t.test('a cert_file/key_file host is served by SNI, and replacing the files on disk is served at the next handshake', async () => {
    const fp1 = new X509Certificate(first.certPem).fingerprint256;
    const peer1 = await waitForPeer(httpsPort, filesHost, (p) => p.cert.fingerprint256 === fp1);
    assert.equal(peer1.cert.subject.CN, `${filesHost} first`);
    assert.ok(!daemon!.lines.some((l) => l.host === filesHost && l.msg === 'ordering certificate'), 'no ACME order for a cert_file host');
    const reply = await waitForHttps(httpsPort, filesHost, '/', first.certPem, (r) => r.status === 200);
    assert.equal(reply.body.trim(), `files ${id}`);

    const workersBefore = daemon!.lines.filter((l) => /proxy worker \d+ started/.test(String(l.msg))).length;
    const second = opensslSelfSigned(filesHost, `${filesHost} second`);
    // the way certbot/config management does it: new files renamed into place, key then cert
    const tlsDir = join(stack.dir, 'files', 'tls');
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(join(tlsDir, 'privkey.pem.new'), second.keyPem, { mode: 0o600 });
    writeFileSync(join(tlsDir, 'fullchain.pem.new'), second.certPem);
    renameSync(join(tlsDir, 'privkey.pem.new'), join(tlsDir, 'privkey.pem'));
    renameSync(join(tlsDir, 'fullchain.pem.new'), join(tlsDir, 'fullchain.pem'));

    filesPem = second.certPem;
    const fp2 = new X509Certificate(second.certPem).fingerprint256;
    const peer2 = await waitForPeer(httpsPort, filesHost, (p) => p.cert.fingerprint256 === fp2, { timeoutMs: 30_000 });
    assert.equal(peer2.cert.subject.CN, `${filesHost} second`);
    await daemon!.waitForLog(forHost(filesHost, 'certificate files changed on disk; serving the new certificate'), 10_000);
    const workersAfter = daemon!.lines.filter((l) => /proxy worker \d+ started/.test(String(l.msg))).length;
    assert.equal(workersAfter, workersBefore, 'no proxy worker restarted');
    // the ACME host is untouched by the swap
    const app = await peerCertificate(httpsPort, appHost, root);
    assert.equal(app.cert.serialNumber, appSerial);
  });

  await t.test('restart: the stored certificate is served at once, without a new order', async () => {
    const accounts = readdirSync(join(stack.dir, '.dispenser', 'acme'));
    assert.equal(accounts.length, 1, 'one ACME account');
    const keyFile = join(stack.dir, '.dispenser', 'acme', accounts[0]!, 'account.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    accountKey = readFileSync(keyFile, 'utf8');
    assert.equal(await daemon!.stop(), 0);
    await waitForPortFree(env.pebbleHttpPort);
    daemon = startDaemon(['-c', stack.configFile], daemonEnv);
    await daemon.waitForLog(forHost(appHost, 'loaded stored certificate'), 60_000);
    await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
    // served right after ready: no polling for an order to complete
    const peer = await peerCertificate(httpsPort, appHost, root);
    assert.ok(peer.authorized, String(peer.authorizationError));
    assert.equal(peer.cert.serialNumber, appSerial, 'the same certificate (serial) as before the restart');
    const reply = await waitForHttps(httpsPort, appHost, '/', root, (r) => r.status === 200);
    assert.equal(reply.body.trim(), `app ${id}`);
    const files = await peerCertificate(httpsPort, filesHost);
    assert.equal(files.cert.fingerprint256, new X509Certificate(filesPem).fingerprint256, 'the rotated cert_file is served after the restart');
    // give a wrongly triggered order time to show up
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(
      daemon.lines.filter((l) => l.msg === 'ordering certificate' || l.msg === 'ACME account registered'),
      [],
      'a restart orders nothing and registers no account',
    );
  });

  await t.test('a reload adding a proxied host orders it with the same ACME account and serves it; a second service on an existing host shares its certificate', async () => {
    stack.write('app2/service.toml', serviceToml('app2', app2Host));
    stack.write('api/service.toml', serviceToml('api', appHost, 'path = "/api"'));
    stack.write('dispenser.toml', mainToml(['app', 'files', 'app2', 'api']));
    daemon!.child.kill('SIGHUP');
    await daemon!.waitForLog(forHost(app2Host, 'certificate issued'), ISSUE_TIMEOUT_MS);
    const reused = daemon!.lines.find((l) => l.msg === 'ACME account reused');
    assert.ok(reused, 'the stored account was reused');
    assert.equal(reused.accountUrl, accountUrl);
    assert.ok(!daemon!.lines.some((l) => l.msg === 'ACME account registered'));
    const accounts = readdirSync(join(stack.dir, '.dispenser', 'acme'));
    assert.equal(accounts.length, 1, 'still one ACME account');
    assert.equal(readFileSync(join(stack.dir, '.dispenser', 'acme', accounts[0]!, 'account.key'), 'utf8'), accountKey, 'same account key');
    assert.ok(!daemon!.lines.some((l) => l.host === appHost && l.msg === 'ordering certificate'), 'the existing host is not re-ordered');

    const reply = await waitForHttps(httpsPort, app2Host, '/', root, (r) => r.status === 200, 60_000);
    assert.equal(reply.body.trim(), `app2 ${id}`);
    const peer = await peerCertificate(httpsPort, app2Host, root);
    assert.ok(peer.authorized, String(peer.authorizationError));
    assert.equal(peer.cert.subjectaltname, `DNS:${app2Host}`);
    assert.notEqual(peer.cert.serialNumber, appSerial);
    // the first host still has its certificate, for both of its services
    assert.equal((await peerCertificate(httpsPort, appHost, root)).cert.serialNumber, appSerial);
    const api = await waitForHttps(httpsPort, appHost, '/api/', root, (r) => r.status === 200, 60_000);
    assert.equal(api.body.trim(), `api ${id}`);
  });

  await t.test('a half-written cert_file replacement (new cert, old key) is refused and the previous pair keeps serving', async () => {
    const tlsDir = join(stack.dir, 'files', 'tls');
    const oldFp = new X509Certificate(filesPem).fingerprint256;
    const third = opensslSelfSigned(filesHost, `${filesHost} third`);
    const errorsBefore = daemon!.lines.filter((l) => l.host === filesHost && l.code === 'CERT_KEY_MISMATCH').length;
    writeFileSync(join(tlsDir, 'fullchain.pem.new'), third.certPem);
    renameSync(join(tlsDir, 'fullchain.pem.new'), join(tlsDir, 'fullchain.pem'));
    await daemon!.waitForLog((l) => l.host === filesHost && l.code === 'CERT_KEY_MISMATCH' && daemon!.lines.filter((x) => x.host === filesHost && x.code === 'CERT_KEY_MISMATCH').length > errorsBefore, 15_000);
    assert.equal((await peerCertificate(httpsPort, filesHost)).cert.fingerprint256, oldFp, 'the previous pair still serves');
    // the key arrives: the pair matches again and is served
    writeFileSync(join(tlsDir, 'privkey.pem.new'), third.keyPem, { mode: 0o600 });
    renameSync(join(tlsDir, 'privkey.pem.new'), join(tlsDir, 'privkey.pem'));
    const fp3 = new X509Certificate(third.certPem).fingerprint256;
    await waitForPeer(httpsPort, filesHost, (p) => p.cert.fingerprint256 === fp3, { timeoutMs: 15_000 });
    filesPem = third.certPem;
  });

  await t.test('a killed proxy worker comes back serving every certificate; handshakes keep succeeding meanwhile', async (st) => {
    const expected = new Map([
      [appHost, appSerial],
      [filesHost, new X509Certificate(filesPem).serialNumber],
    ]);
    const failures: string[] = [];
    let handshakes = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        for (const [host, serial] of expected) {
          try {
            const p = await peerCertificate(httpsPort, host, undefined, 3000);
            handshakes++;
            if (p.cert.serialNumber?.toLowerCase() !== serial.toLowerCase()) failures.push(`${host}: served serial ${p.cert.serialNumber}`);
          } catch (e) {
            failures.push(`${host}: ${(e as Error).message}`);
          }
        }
      }
    })();
    try {
      for (const index of [1, 2]) {
        const started = [...daemon!.lines].reverse().find((l) => l.msg === `proxy worker ${index} started`);
        assert.ok(started?.childPid, `pid of proxy worker ${index}`);
        const readyBefore = daemon!.lines.filter((l) => l.msg === `proxy worker ${index} ready`).length;
        process.kill(Number(started.childPid), 'SIGKILL');
        await daemon!.waitForLog((l) => l.msg === `proxy worker ${index} ready` && daemon!.lines.filter((x) => x.msg === `proxy worker ${index} ready`).length > readyBefore, 30_000);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      stop = true;
      await loop;
    }
    st.diagnostic(`${handshakes} handshakes, failed: ${failures.join('; ') || 'none'}`);
    assert.ok(handshakes > 10, `only ${handshakes} handshakes`);
    // A handshake cut by SIGKILL mid-way is the client's loss we accept; anything else is a bug.
    const unexpected = failures.filter((f) => !/ECONNRESET|socket disconnected|socket hang up/.test(f));
    assert.deepEqual(unexpected, [], `failures besides connections cut by the kill: ${failures.join('; ')}`);
    assert.ok(failures.length <= 4, `too many failed handshakes (${failures.length}/${handshakes + failures.length}): ${failures.join('; ')}`);
  });

  await t.test('a killed orchestrator: HTTPS keeps serving meanwhile; the restarted one orders nothing', async () => {
    const started = [...daemon!.lines].reverse().find((l) => l.msg === 'orchestrator started');
    assert.ok(started?.childPid, 'pid of the orchestrator');
    const mark = daemon!.lines.length;
    process.kill(Number(started.childPid), 'SIGKILL');
    await daemon!.waitForLog((l) => /^orchestrator .*restarting in/.test(String(l.msg)), 10_000);
    assert.equal((await peerCertificate(httpsPort, appHost, root)).cert.serialNumber, appSerial, 'served while the orchestrator is down');
    await daemon!.waitForLog((l) => l.msg === 'orchestrator ready' && daemon!.lines.indexOf(l) >= mark, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const after = daemon!.lines.slice(mark);
    assert.deepEqual(after.filter((l) => l.msg === 'ordering certificate'), [], 'no order after the orchestrator restarted');
    assert.equal((await peerCertificate(httpsPort, appHost, root)).cert.serialNumber, appSerial);
    const reply = await waitForHttps(httpsPort, app2Host, '/', root, (r) => r.status === 200);
    assert.equal(reply.body.trim(), `app2 ${id}`);
  });

  await t.test('a reload switching a host to cert_file serves the files; switching back serves the stored ACME certificate without an order', async () => {
    const own = opensslSelfSigned(appHost, `${appHost} own`);
    stack.write('app/tls/fullchain.pem', own.certPem);
    stack.write('app/tls/privkey.pem', own.keyPem);
    const mark = daemon!.lines.length;
    const reloaded = async (): Promise<void> => {
      const from = daemon!.lines.length;
      daemon!.child.kill('SIGHUP');
      const l = await daemon!.waitForLog((x) => (x.msg === 'reload: new configuration applied' || String(x.msg).startsWith('reload failed')) && daemon!.lines.indexOf(x) >= from, 60_000);
      assert.equal(l.msg, 'reload: new configuration applied');
    };
    stack.write('app/service.toml', serviceToml('app', appHost, 'cert_file = "tls/fullchain.pem"\nkey_file = "tls/privkey.pem"'));
    await reloaded();
    const ownFp = new X509Certificate(own.certPem).fingerprint256;
    await waitForPeer(httpsPort, appHost, (p) => p.cert.fingerprint256 === ownFp, { timeoutMs: 15_000 });

    stack.write('app/service.toml', serviceToml('app', appHost));
    await reloaded();
    await waitForPeer(httpsPort, appHost, (p) => p.cert.serialNumber === appSerial, { ca: root, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(daemon!.lines.slice(mark).filter((l) => l.msg === 'ordering certificate'), [], 'no order for either switch');
  });

  await t.test('a reload removing a host stops serving its certificate; the others stay', async () => {
    stack.write('dispenser.toml', mainToml(['app', 'files']));
    const mark = daemon!.lines.length;
    daemon!.child.kill('SIGHUP');
    await daemon!.waitForLog((l) => (l.msg === 'reload: new configuration applied' || String(l.msg).startsWith('reload failed')) && daemon!.lines.indexOf(l) >= mark, 60_000);
    await daemon!.waitForLog((l) => l.host === app2Host && l.msg === 'host removed from config; its certificate is no longer served or renewed', 10_000);
    const deadline = Date.now() + 15_000;
    let served = true;
    while (Date.now() < deadline) {
      served = await peerCertificate(httpsPort, app2Host).then(
        () => true,
        () => false,
      );
      if (!served) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(served, false, 'no certificate for the removed host');
    assert.ok(existsSync(join(stack.dir, '.dispenser', 'certs', app2Host, 'fullchain.pem')), 'its files stay as a cache');
    assert.equal((await peerCertificate(httpsPort, appHost, root)).cert.serialNumber, appSerial);
  });
});

test('certificates: a failing CA keeps the current certificate; fixing it renews an expiring one with no dropped connection', { timeout: 180_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry', 'pebble');
  if (!env) return;
  const id = randomName('r').slice(2);
  const instance = `test-certs-e2e-${id}`;
  const host = `renew-${id}.test`;
  const ref = `${env.registry}/certs-e2e-${id}:v1`;
  const httpsPort = await freePort();
  const deadCa = `https://127.0.0.1:${await freePort()}/dir`;
  const daemonEnv = { DISPENSER_INSTANCE: instance, NODE_EXTRA_CA_CERTS: env.pebbleCa };
  const mainToml = (directoryUrl: string, port = httpsPort): string => `
delay = 3600

[proxy]
strategy = "both"
http_port = ${env.pebbleHttpPort}
https_port = ${port}
bind = "127.0.0.1"
workers = 2

[certbot]
email = "e2e-${id}@example.com"
directory_url = "${directoryUrl}"

[[service]]
path = "renew"

[[service]]
path = "intranet"
`;
  const stack = writeStack(mainToml(deadCa), {
    // a single-label name no public CA issues for: an error for that host only
    intranet: `
[service]
name = "intranet-${id}"
image = "${ref}"

[dispenser]
watch = false

[proxy]
host = "intranet-${id}"
service_port = 8080
`,
    renew: `
[service]
name = "renew-${id}"
image = "${ref}"

[env]
BODY = "renew ${id}"

[dispenser]
watch = false

[proxy]
host = "${host}"
service_port = 8080
`,
  });
  // A certificate Dispenser "obtained earlier" that expires tomorrow: due for renewal.
  const seed = opensslSelfSigned(host, `${host} seed`, 1);
  const certDir = join(stack.dir, '.dispenser', 'certs', host);
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(certDir, 'privkey.pem'), seed.keyPem, { mode: 0o600 });
  writeFileSync(join(certDir, 'fullchain.pem'), seed.certPem);
  const seedFp = new X509Certificate(seed.certPem).fingerprint256;

  let daemon: Daemon | undefined;
  let unlock: (() => void) | undefined;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => {
    agent.destroy();
    return tearDown(daemon, instance, ref, stack, unlock);
  });

  buildAndPush(ref, {
    base: env.baseImage,
    cmd: ['sh', '-c', 'trap "exit 0" TERM; mkdir -p /www; echo "$BODY" > /www/index.html; httpd -f -p 8080 -h /www & wait'],
  });
  const root = await pebbleRoot(env.pebbleCa, env.pebbleManagement);

  // Pebble's HTTP-01 port is shared with the certificate package tests, which may run in parallel
  unlock = await lockPort(env.pebbleHttpPort);
  await waitForPortFree(env.pebbleHttpPort);
  daemon = startDaemon(['-c', stack.configFile], daemonEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);

  await t.test('CA unreachable: the error names the host, the stored certificate keeps serving; a single-label host gets its own error', async () => {
    const failure = await daemon!.waitForLog((l) => l.host === host && l.level === 50 && typeof l.code === 'string', ISSUE_TIMEOUT_MS);
    assert.equal(failure.code, 'CERT_CA_UNREACHABLE', JSON.stringify(failure));
    const invalid = daemon!.lines.find((l) => l.host === `intranet-${id}` && l.level === 50);
    assert.equal(invalid?.code, 'CERT_INVALID_HOST', JSON.stringify(invalid));
    assert.equal(failure.serving, 'previous certificate');
    assert.ok(failure.hint, 'the error says what to do');
    const peer = await peerCertificate(httpsPort, host);
    assert.equal(peer.cert.fingerprint256, seedFp);
    const reply = await waitForHttps(httpsPort, host, '/', seed.certPem, (r) => r.status === 200);
    assert.equal(reply.body.trim(), `renew ${id}`);    // strategy "both": the HTTP port serves the routes too
    const plain = await get(env.pebbleHttpPort, '/', host);
    assert.equal(plain.status, 200);
    assert.equal(plain.body.trim(), `renew ${id}`);
  });

  await t.test('after fixing directory_url and a reload, the expiring certificate is renewed and swapped in; an open connection keeps working', async () => {
    // a keep-alive connection established with the old certificate
    const before = await agentGet(agent, httpsPort, host, seed.certPem);
    assert.equal(before.body.trim(), `renew ${id}`);
    assert.equal(before.peerFp, seedFp);

    stack.write('dispenser.toml', mainToml(env.pebbleDirectory));
    daemon!.child.kill('SIGHUP');
    const ordering = await daemon!.waitForLog((l) => l.host === host && l.msg === 'ordering certificate' && l.directoryUrl === env.pebbleDirectory, ISSUE_TIMEOUT_MS);
    assert.equal(ordering.reason, 'expiring');
    await daemon!.waitForLog((l) => l.host === host && l.msg === 'certificate issued', ISSUE_TIMEOUT_MS);
    assert.ok(!daemon!.lines.some((l) => l.host === `intranet-${id}` && l.msg === 'ordering certificate'), 'no order for a name the CA cannot issue');

    const peer = await waitForPeer(httpsPort, host, (p) => p.cert.fingerprint256 !== seedFp, { ca: root });
    assert.ok(peer.authorized, String(peer.authorizationError));
    assert.match(String(peer.cert.issuer.CN), /^Pebble Intermediate CA/);
    const stored = new X509Certificate(readFileSync(join(certDir, 'fullchain.pem')));
    assert.equal(stored.fingerprint256, peer.cert.fingerprint256, 'the renewed certificate is stored');

    // the connection opened before the swap is still up and still on the old certificate
    const after = await agentGet(agent, httpsPort, host, seed.certPem);
    assert.ok(after.reused, 'the same TLS connection was reused');
    assert.equal(after.peerFp, seedFp);
    assert.equal(after.body.trim(), `renew ${id}`);
  });

  await t.test('a reload moving https_port serves the certificates on the new port at once, with no restart warning; a port that is taken keeps the current one', async () => {
    const newPort = await freePort();
    stack.write('dispenser.toml', mainToml(env.pebbleDirectory, newPort));
    const from = daemon!.lines.length;
    daemon!.child.kill('SIGHUP');
    const done = await daemon!.waitForLog((x) => (x.msg === 'reload: new configuration applied' || String(x.msg).startsWith('reload failed')) && daemon!.lines.indexOf(x) >= from, 60_000);
    assert.equal(done.msg, 'reload: new configuration applied');
    const peer = await waitForPeer(newPort, host, (p) => p.authorized, { ca: root, timeoutMs: 15_000 });
    assert.match(String(peer.cert.issuer.CN), /^Pebble Intermediate CA/);
    await assert.rejects(peerCertificate(httpsPort, host), /ECONNREFUSED/, 'the old port is closed');
    const warnings = daemon!.lines.slice(from).filter((l) => /restart/.test(String(l.msg)) && (l.level ?? 0) >= 40);
    assert.deepEqual(warnings, [], 'the port moved without a restart, so no warning should ask for one');

    // a reload to a port another process holds: an error, and HTTPS stays where it is
    const busy = createNetServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const taken = (busy.address() as { port: number }).port;
      stack.write('dispenser.toml', mainToml(env.pebbleDirectory, taken));
      const mark = daemon!.lines.length;
      daemon!.child.kill('SIGHUP');
      await daemon!.waitForLog((l) => l.code === 'PROXY_LISTEN_FAILED' && daemon!.lines.indexOf(l) >= mark, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(daemon!.child.exitCode, null, 'Dispenser keeps running');
      const still = await peerCertificate(newPort, host, root);
      assert.ok(still.authorized, String(still.authorizationError));
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});

/** GET through a keep-alive agent; reports whether the connection was reused and its peer certificate. */
function agentGet(agent: https.Agent, port: number, host: string, ca: string): Promise<{ body: string; reused: boolean; peerFp: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', servername: host, headers: { host }, ca, agent, timeout: 5000 }, (res) => {
      const peerFp = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, reused: req.reusedSocket, peerFp }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('certificates: dispenser dev serves a cached self-signed certificate and never contacts the CA', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const id = randomName('d').slice(2);
  const instance = `test-certs-e2e-${id}`;
  const host = `dev-${id}.test`;
  const ref = `${env.registry}/certs-e2e-${id}:v1`;
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const stack = writeStack(
    `
delay = 3600

[proxy]
strategy = "https-only"
http_port = ${httpPort}
https_port = ${httpsPort}
bind = "127.0.0.1"
workers = 1

# present, but dev mode must not use it (nothing listens there)
[certbot]
email = "e2e-${id}@example.com"
directory_url = "https://127.0.0.1:1/dir"

[[service]]
path = "web"
`,
    {
      web: `
[service]
name = "dev-${id}"
image = "${ref}"

[env]
BODY = "dev ${id}"

[dispenser]
watch = false

[proxy]
host = "${host}"
service_port = 8080
`,
    },
  );
  let daemon: Daemon | undefined;
  t.after(() => tearDown(daemon, instance, ref, stack));
  buildAndPush(ref, {
    base: env.baseImage,
    cmd: ['sh', '-c', 'trap "exit 0" TERM; mkdir -p /www; echo "$BODY" > /www/index.html; httpd -f -p 8080 -h /www & wait'],
  });
  const devEnv = { DISPENSER_INSTANCE: instance };

  daemon = startDaemon(['dev', '-c', stack.configFile, '-s', 'web'], devEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
  const peer = await waitForPeer(httpsPort, host, () => true);
  assert.equal(peer.cert.subjectaltname, `DNS:${host}`);
  const x509 = new X509Certificate(peer.cert.raw);
  assert.equal(x509.issuer, x509.subject, 'self-signed');
  assert.equal(x509.publicKey.asymmetricKeyType, 'ec');
  const cached = readFileSync(join(stack.dir, '.dispenser', 'dev-certs', host, 'fullchain.pem'), 'utf8');
  assert.equal(new X509Certificate(cached).fingerprint256, peer.cert.fingerprint256, 'the served certificate is the cached one');
  // a client that trusts the cached certificate gets the page
  const reply = await waitForHttps(httpsPort, host, '/', cached, (r) => r.status === 200);
  assert.equal(reply.body.trim(), `dev ${id}`);

  assert.equal(await daemon.stop(), 0);
  daemon = startDaemon(['dev', '-c', stack.configFile, '-s', 'web'], devEnv);
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
  const again = await waitForPeer(httpsPort, host, () => true);
  assert.equal(again.cert.fingerprint256, peer.cert.fingerprint256, 'the same certificate after a restart of dispenser dev');
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(!daemon.lines.some((l) => l.msg === 'ordering certificate' || typeof l.code === 'string' && l.code.startsWith('CERT_')), 'no ACME in dev mode');
});
