import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { infra } from '@dispenser/shared/testing/infra';
import { RegistryClient } from '../../src/registry/client.js';
import { DockerCredentials } from '../../src/registry/credentials.js';
import { parseReference } from '../../src/registry/reference.js';
import { randomName } from '@dispenser/shared/testing/docker';
import { ImagePusher } from '../helpers/images.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from '../helpers/token-issuer.js';

interface Env {
  dir: string;
  anon: TestRegistry;
  basic: TestRegistry;
  token: TestRegistry;
  issuer: TokenIssuer;
  /** docker config logged in to basic and token registries (auths in the file) */
  loggedIn: string;
  pusher: ImagePusher;
}

let env: Env | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  if (!infra({ skip() {} }, 'docker')) return;
  const dir = await mkdtemp(join(tmpdir(), 'cd-client-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const issuer = await startTokenIssuer({ alice: 'wonderland' });
  cleanups.push(() => issuer.close());
  const [anon, basic, token] = await Promise.all([startRegistry(), startRegistry({ kind: 'basic', users: { bob: 'builder' } }), startRegistry({ kind: 'token', issuer })]);
  cleanups.push(() => anon.stop(), () => basic.stop(), () => token.stop());
  const loggedIn = join(dir, 'docker');
  await mkdir(loggedIn);
  const pusher = new ImagePusher(loggedIn);
  cleanups.push(() => pusher.cleanup());
  await pusher.login(basic.host, 'bob', 'builder');
  await pusher.login(token.host, 'alice', 'wonderland');
  env = { dir, anon, basic, token, issuer, loggedIn, pusher };
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function ready(t: { skip(m?: string): void }): Env | undefined {
  return infra(t, 'docker') ? env : undefined;
}

test('anonymous loopback registry: HEAD gives the pushed digest, a new push under the tag a new one, and no manifest GET or blob fetch', async (t) => {
  const e = ready(t);
  if (!e) return;
  const image = `${e.anon.host}/${randomName('anon')}:latest`;
  const first = await e.pusher.push(image);
  const client = new RegistryClient();
  t.after(() => client.close());
  const before = (await e.anon.access()).length;
  const ref = parseReference(image);
  assert.equal(await client.manifestDigest(ref), first);
  assert.equal(await client.manifestDigest(ref), first);
  const second = await e.pusher.push(image);
  assert.notEqual(second, first);
  const mark = (await e.anon.access()).length;
  assert.equal(await client.manifestDigest(ref), second);
  const mine = (await e.anon.access()).slice(mark);
  assert.deepEqual(mine.map((l) => `${l.method} ${l.status}`), ['HEAD 200']);
  assert.ok((await e.anon.access()).slice(before).every((l) => !(l.method === 'GET' && /\/manifests\/|\/blobs\//.test(l.path)) || l.path.includes('/blobs/uploads')), 'the client never GETs a manifest or blob');
  assert.deepEqual(client.stats, { head: 3, get: 0, token: 0 });
});

test('an unknown tag is a 404 error for that image', async (t) => {
  const e = ready(t);
  if (!e) return;
  const client = new RegistryClient();
  t.after(() => client.close());
  await assert.rejects(client.manifestDigest(parseReference(`${e.anon.host}/${randomName('nope')}:gone`)), { code: 'REGISTRY_MANIFEST_NOT_FOUND', scope: 'repository' });
});

test('htpasswd Basic auth with credentials from the docker config file; missing or wrong credentials are 401 errors', async (t) => {
  const e = ready(t);
  if (!e) return;
  const image = `${e.basic.host}/${randomName('basic')}:v1`;
  const digest = await e.pusher.push(image);
  const client = new RegistryClient({ credentials: new DockerCredentials({ configDir: e.loggedIn }) });
  const anonymous = new RegistryClient();
  const wrongDir = join(e.dir, 'wrong');
  await mkdir(wrongDir, { recursive: true });
  await writeFile(join(wrongDir, 'config.json'), JSON.stringify({ auths: { [e.basic.host]: { auth: Buffer.from('bob:nope').toString('base64') } } }));
  const wrong = new RegistryClient({ credentials: new DockerCredentials({ configDir: wrongDir }) });
  t.after(() => Promise.all([client.close(), anonymous.close(), wrong.close()]));
  const ref = parseReference(image);
  assert.equal(await client.manifestDigest(ref), digest);
  assert.equal(await client.manifestDigest(ref), digest);
  assert.deepEqual(client.stats, { head: 3, get: 0, token: 0 }, 'one challenge, then Basic is sent up front');
  await assert.rejects(anonymous.manifestDigest(ref), { code: 'REGISTRY_UNAUTHORIZED', message: /requires a user name and password/ });
  await assert.rejects(wrong.manifestDigest(ref), { code: 'REGISTRY_UNAUTHORIZED', message: /refused the credentials/ });
});

test('Bearer token auth: the token is fetched once with Basic credentials, reused until it expires, then renewed', async (t) => {
  const e = ready(t);
  if (!e) return;
  const image = `${e.token.host}/${randomName('token')}:v1`;
  const digest = await e.pusher.push(image);
  const client = new RegistryClient({ credentials: new DockerCredentials({ configDir: e.loggedIn }) });
  t.after(() => client.close());
  const ref = parseReference(image);
  const scope = `repository:${ref.repository}:pull`;
  e.issuer.expiresInS = 6; // cached for 6 s minus the 5 s safety margin
  const count = (): number => e.issuer.requests.filter((r) => r.scope === scope).length;
  assert.equal(await client.manifestDigest(ref), digest);
  assert.equal(await client.manifestDigest(ref), digest);
  assert.equal(count(), 1, 'second lookup reuses the token');
  assert.equal(e.issuer.requests.at(-1)?.account, 'alice');
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(await client.manifestDigest(ref), digest);
  assert.equal(count(), 2, 'an expired token is renewed');
  e.issuer.expiresInS = 300;

  const badDir = join(e.dir, 'bad-token');
  await mkdir(badDir, { recursive: true });
  await writeFile(join(badDir, 'config.json'), JSON.stringify({ auths: { [e.token.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }));
  const bad = new RegistryClient({ credentials: new DockerCredentials({ configDir: badDir }) });
  t.after(() => bad.close());
  await assert.rejects(bad.manifestDigest(ref), { code: 'REGISTRY_UNAUTHORIZED', message: /token service .* refused/ });
});

test('Bearer token auth without credentials (public images) and with an identity token (OAuth2 refresh grant)', async (t) => {
  const e = ready(t);
  if (!e) return;
  const image = `${e.token.host}/${randomName('public')}:v1`;
  const digest = await e.pusher.push(image);
  const ref = parseReference(image);
  const anonymous = new RegistryClient();
  t.after(() => anonymous.close());
  await assert.rejects(anonymous.manifestDigest(ref), { code: 'REGISTRY_UNAUTHORIZED', message: /none are configured/ });
  e.issuer.anonymousPull = true;
  t.after(() => (e.issuer.anonymousPull = false));
  const fresh = new RegistryClient();
  t.after(() => fresh.close());
  assert.equal(await fresh.manifestDigest(ref), digest);
  assert.equal(e.issuer.requests.at(-1)?.account, null);

  const dir = await mkdtemp(join(e.dir, 'identity-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [e.token.host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: e.issuer.refreshToken } } }));
  e.issuer.anonymousPull = false;
  const withIdentity = new RegistryClient({ credentials: new DockerCredentials({ configDir: dir }) });
  t.after(() => withIdentity.close());
  assert.equal(await withIdentity.manifestDigest(ref), digest);
  assert.equal(e.issuer.requests.at(-1)?.account, 'alice');
});

test('credentials from a credential helper (credHelpers and credsStore) found on PATH', async (t) => {
  const e = ready(t);
  if (!e) return;
  const image = `${e.basic.host}/${randomName('helper')}:v1`;
  const digest = await e.pusher.push(image);
  const bin = join(e.dir, 'bin');
  await mkdir(bin, { recursive: true });
  const calls = join(e.dir, 'helper-calls');
  await writeFile(join(bin, 'docker-credential-cdtest'), `#!/bin/sh\nread server\necho "$1 $server" >> ${calls}\nif [ "$server" = "${e.basic.host}" ]; then echo '{"ServerURL":"'$server'","Username":"bob","Secret":"builder"}'; else echo "credentials not found in native keychain"; exit 1; fi\n`);
  await chmod(join(bin, 'docker-credential-cdtest'), 0o755);
  const envPath = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  for (const config of [{ credHelpers: { [e.basic.host]: 'cdtest' } }, { credsStore: 'cdtest' }]) {
    const cfgDir: string = await mkdtemp(join(e.dir, 'helper-'));
    await writeFile(join(cfgDir, 'config.json'), JSON.stringify(config));
    const client: RegistryClient = new RegistryClient({ credentials: new DockerCredentials({ env: { ...envPath, DOCKER_CONFIG: cfgDir } }) });
    assert.equal(await client.manifestDigest(parseReference(image)), digest, JSON.stringify(config));
    await client.close();
  }
  const lines = (await readFile(calls, 'utf8')).trim().split('\n');
  assert.deepEqual(lines, [`get ${e.basic.host}`, `get ${e.basic.host}`]);

  // A helper that has nothing for the registry means anonymous; the registry then says 401.
  const dir = await mkdtemp(join(e.dir, 'helper-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ credsStore: 'cdtest' }));
  const other = new RegistryClient({ credentials: new DockerCredentials({ env: { ...envPath, DOCKER_CONFIG: dir } }) });
  t.after(() => other.close());
  assert.ok(await other.manifestDigest(parseReference(`${e.anon.host}/${randomName('x')}:1`)).catch((err: { code: string }) => err.code === 'REGISTRY_MANIFEST_NOT_FOUND'));
  // A helper missing from PATH is an error that names it.
  const missing = await mkdtemp(join(e.dir, 'helper-'));
  await writeFile(join(missing, 'config.json'), JSON.stringify({ credsStore: 'absent' }));
  const broken = new RegistryClient({ credentials: new DockerCredentials({ configDir: missing }) });
  t.after(() => broken.close());
  await assert.rejects(broken.manifestDigest(parseReference(image)), { code: 'REGISTRY_CREDENTIAL_HELPER_FAILED', message: /docker-credential-absent/ });
});

/** A loopback HTTP server in front of a registry that rewrites some answers (the real registry never refuses HEAD). */
async function frontOf(target: string, rewrite: (req: { method: string; url: string }) => { status: number; headers?: Record<string, string> } | undefined, dropHeaders: string[] = []): Promise<{ host: string; server: Server }> {
  const server = createServer((req, res) => {
    const r = rewrite({ method: req.method ?? 'GET', url: req.url ?? '/' });
    if (r) {
      res.writeHead(r.status, r.headers).end();
      return;
    }
    const [hostname, port] = target.split(':');
    const up = httpRequest({ hostname, port: Number(port), path: req.url, method: req.method, headers: req.headers }, (ur) => {
      const headers = { ...ur.headers };
      for (const h of dropHeaders) delete headers[h];
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('a registry that rejects HEAD is asked with GET, and the digest still matches', async (t) => {
  const e = ready(t);
  if (!e) return;
  const name = randomName('nohead');
  const digest = await e.pusher.push(`${e.anon.host}/${name}:v1`);
  const front = await frontOf(e.anon.host, (req) => (req.method === 'HEAD' ? { status: 405 } : undefined));
  const client = new RegistryClient();
  t.after(async () => {
    await client.close();
    front.server.close();
  });
  assert.equal(await client.manifestDigest(parseReference(`${front.host}/${name}:v1`)), digest);
  assert.equal(await client.manifestDigest(parseReference(`${front.host}/${name}:v1`)), digest);
  assert.deepEqual(client.stats, { head: 2, get: 2, token: 0 }, 'a refusal is not remembered: every check tries HEAD first');
});

test('without Docker-Content-Digest the digest is computed from the manifest bytes', async (t) => {
  const e = ready(t);
  if (!e) return;
  const name = randomName('nodigest');
  const digest = await e.pusher.push(`${e.anon.host}/${name}:v1`);
  const front = await frontOf(e.anon.host, () => undefined, ['docker-content-digest']);
  const client = new RegistryClient();
  t.after(async () => {
    await client.close();
    front.server.close();
  });
  assert.equal(await client.manifestDigest(parseReference(`${front.host}/${name}:v1`)), digest);
  assert.deepEqual(client.stats, { head: 1, get: 1, token: 0 });
});

test('a loopback registry with a self-signed certificate is spoken to over HTTPS, as Docker does; verified TLS rejects it', async (t) => {
  const e = ready(t);
  if (!e) return;
  const tls = await startRegistry({ kind: 'none' }, { tls: true });
  t.after(() => tls.stop());
  const image = `${tls.host}/${randomName('tls')}:v1`;
  const digest = await e.pusher.push(image);
  const client = new RegistryClient();
  const strict = new RegistryClient({ insecure: () => false });
  t.after(() => Promise.all([client.close(), strict.close()]));
  assert.equal(await client.manifestDigest(parseReference(image)), digest);
  assert.equal(await client.manifestDigest(parseReference(image)), digest);
  assert.deepEqual(client.stats, { head: 2, get: 0, token: 0 });
  await assert.rejects(strict.manifestDigest(parseReference(image)), { code: 'REGISTRY_UNREACHABLE', scope: 'registry' });

  // Docker's certs.d layout: /etc/docker/certs.d/<registry>/ca.crt makes the same registry verifiable.
  const certsDir = join(e.dir, 'certs.d');
  await mkdir(join(certsDir, tls.host), { recursive: true });
  await writeFile(join(certsDir, tls.host, 'ca.crt'), await readFile(tls.certPath as string));
  const withCa = new RegistryClient({ insecure: () => false, certsDir });
  t.after(() => withCa.close());
  assert.equal(await withCa.manifestDigest(parseReference(image)), digest);
});

test('429 carries Retry-After; a registry that is down or unresolvable is a registry-wide error', async (t) => {
  const front = await frontOf('127.0.0.1:1', () => ({ status: 429, headers: { 'retry-after': '7' } }));
  const client = new RegistryClient({ timeoutMs: 5_000 });
  t.after(async () => {
    await client.close();
    front.server.close();
  });
  await assert.rejects(client.manifestDigest(parseReference(`${front.host}/a:1`)), { code: 'REGISTRY_RATE_LIMITED', scope: 'registry', retryAfterMs: 7_000 });
  const closed = await freePort();
  await assert.rejects(client.manifestDigest(parseReference(`127.0.0.1:${closed}/a:1`)), { code: 'REGISTRY_UNREACHABLE', scope: 'registry' });
  await assert.rejects(client.manifestDigest(parseReference('no-such-registry.invalid/a:1')), (err: { code: string; scope: string }) => ['REGISTRY_DNS', 'REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT'].includes(err.code) && err.scope === 'registry');
});
