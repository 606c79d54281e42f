import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startContinuousDeployment } from '../../src/cd/continuous-deployment.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/registry/reference.js';
import { FakeDeployer } from '../helpers/fake-deployer.js';
import { config, service } from '@dispenser/shared/testing/config';
import { FakeScheduler } from '../helpers/fakes.js';
import { captureLog } from '@dispenser/shared/testing/log';

/**
 * Registries that misbehave on purpose, as real loopback HTTP servers: hung, huge, rate-limiting
 * for days, refusing HEAD. Each played a part in issue 18.
 */

/** the cap on Retry-After: an hour */
const MAX_RETRY_AFTER_MS = 3_600_000;
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

interface Served {
  host: string;
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP registry on port 0 whose answers come from `handle`; every request is recorded as "METHOD path". */
async function httpRegistry(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<Served> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Accepts connections and never says a word. */
async function hungRegistry(): Promise<Served & { connections: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createTcpServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    connections: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const insecure = (): boolean => true;

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a hung registry does not delay a healthy one: its new digest is deployed within a poll interval', async (t) => {
  const hung = await hungRegistry();
  let digest = DIGEST_A;
  const healthy = await httpRegistry((_req, res) => res.writeHead(200, { 'docker-content-digest': digest, 'content-type': 'application/vnd.oci.image.index.v1+json' }).end());
  const client = new RegistryClient({ insecure, timeoutMs: 2_500 });
  const deployer = new FakeDeployer();
  deployer.running.set('web', DIGEST_A).set('stuck', DIGEST_A);
  const { log, find } = captureLog();
  const delayMs = 200;
  const cd = startContinuousDeployment(config([service('stuck', { image: `${hung.host}/stuck:1`, dispenser: { watch: true } }), service('web', { image: `${healthy.host}/web:1`, dispenser: { watch: true } })], { delayMs }), { deployer, registry: client, log, scheduler: new FakeScheduler() });
  t.after(async () => {
    await cd.stop();
    await client.close();
    await hung.close();
    await healthy.close();
  });

  await until('a first check of the healthy registry', 3_000, () => healthy.requests.length > 0);
  await until('a check stuck on the hung registry', 3_000, () => hung.connections() > 0);
  const pushedAt = Date.now();
  digest = DIGEST_B;
  deployer.registry.set('web', DIGEST_B);
  await until('the redeploy of web', 10_000, () => deployer.calls.some((c) => c.service === 'web'));
  const tookMs = Date.now() - pushedAt;
  // one interval plus its jitter, plus slack for a busy 2-core machine; the hung check needs 2.5 s to time out
  assert.ok(tookMs < delayMs + 1_500, `the healthy registry's change was seen after ${tookMs} ms`);
  assert.deepEqual(find(/backing off/).map((l) => l.registry), [], 'the hung registry has not even timed out yet');
});

test('a request that is not answered in time, or whose body stalls, is REGISTRY_TIMEOUT', async (t) => {
  const hung = await hungRegistry();
  // answers GET with headers and the start of a manifest, then nothing more
  const stalling = await httpRegistry((req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(405).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.write('{"schemaVersion": 2, ');
  });
  const client = new RegistryClient({ insecure, timeoutMs: 500 });
  t.after(async () => {
    await client.close();
    await hung.close();
    await stalling.close();
  });
  for (const host of [hung.host, stalling.host]) {
    const started = Date.now();
    await assert.rejects(client.manifestDigest(parseReference(`${host}/app:1`)), (err: { code?: string; scope?: string; hint?: string }) => {
      assert.equal(err.code, 'REGISTRY_TIMEOUT', `${host}: ${String(err)}`);
      assert.equal(err.scope, 'registry', 'a timeout backs the whole registry off');
      assert.ok(err.hint, 'with a hint');
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'bounded by the timeout (HTTPS attempt, then plain HTTP)');
  }
});

test('a 300 MB manifest is refused after 4 MiB without growing memory', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const total = 300 * 1024 * 1024;
  let sent = 0;
  let closed = 0;
  const huge = await httpRegistry((req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(405).end();
    if (req.url?.includes('/announced/')) return void res.writeHead(200, { 'content-length': String(total) }).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    // streamed with backpressure: the test never holds more than one chunk
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => closed++);
    pump();
  });
  const client = new RegistryClient({ insecure, timeoutMs: 20_000 });
  t.after(async () => {
    await client.close();
    await huge.close();
  });
  // warm up undici and the TLS-then-HTTP probe so their allocations are not counted
  await assert.rejects(client.manifestDigest(parseReference(`${huge.host}/announced/app:1`)), { code: 'REGISTRY_RESPONSE_TOO_LARGE' });

  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await assert.rejects(client.manifestDigest(parseReference(`${huge.host}/chunked/app:1`)), (err: { code?: string; message?: string; hint?: string }) => {
      assert.equal(err.code, 'REGISTRY_RESPONSE_TOO_LARGE');
      assert.match(err.message ?? '', /larger than 4194304 bytes/);
      assert.ok(err.hint);
      return true;
    });
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const grewMb = (peak - before) / 1024 / 1024;
  assert.ok(grewMb < 24, `RSS grew by ${grewMb.toFixed(1)} MB`);
  await until('the server to notice the hang-up', 5_000, () => closed >= 1);
  assert.ok(sent < 48 * 1024 * 1024, `reading stopped early: the server got ${(sent / 1024 / 1024).toFixed(0)} MiB out`);
});

test('Retry-After: 999999 is capped at an hour, and a reload asks again at once', async (t) => {
  let limited = true;
  const reg = await httpRegistry((_req, res) => {
    if (limited) return void res.writeHead(429, { 'retry-after': '999999' }).end();
    res.writeHead(200, { 'docker-content-digest': DIGEST_A }).end();
  });
  const client = new RegistryClient({ insecure, timeoutMs: 5_000 });
  const deployer = new FakeDeployer();
  deployer.running.set('web', DIGEST_A);
  const { log, find } = captureLog();
  let clock = 1_000_000;
  const cfg = config([service('web', { image: `${reg.host}/web:1`, dispenser: { watch: true } })], { delayMs: 60_000 });
  const cd = startContinuousDeployment(cfg, { deployer, registry: client, log, scheduler: new FakeScheduler(), now: () => clock, random: () => 0.999 });
  t.after(async () => {
    await cd.stop();
    await client.close();
    await reg.close();
  });
  const asked = (): number => reg.requests.filter((r) => r.startsWith('HEAD')).length;

  await cd.pollNow();
  assert.equal(asked(), 1);
  const [backoff] = find(/backing off/);
  assert.equal(backoff?.code, 'REGISTRY_RATE_LIMITED');
  assert.equal(backoff?.retryInMs, MAX_RETRY_AFTER_MS, 'an hour, not 11.6 days');
  clock += 10 * 60_000;
  await cd.pollNow();
  assert.equal(asked(), 1, 'still waiting within the hour');

  limited = false;
  await cd.update(cfg);
  await cd.pollNow();
  assert.equal(asked(), 2, 'a reload clears the backoff');
  assert.equal(find(/reachable again/).length, 0, 'a reload forgets the failure rather than reporting a recovery');

  limited = true;
  clock += 60_000;
  await cd.pollNow();
  clock += MAX_RETRY_AFTER_MS + 1;
  limited = false;
  await cd.pollNow();
  assert.equal(asked(), 4, 'without a reload, asked again after the capped hour');
});

test('405 on HEAD falls back to GET for that check only; the next check tries HEAD again', async (t) => {
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  let refuseHead = true;
  const reg = await httpRegistry((req, res) => {
    if (req.method === 'HEAD' && refuseHead) return void res.writeHead(405).end();
    res.writeHead(200, { 'docker-content-digest': DIGEST_A, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(req.method === 'GET' ? manifest : undefined);
  });
  const client = new RegistryClient({ insecure, timeoutMs: 5_000 });
  t.after(async () => {
    await client.close();
    await reg.close();
  });
  const ref = parseReference(`${reg.host}/app:1`);
  assert.equal(await client.manifestDigest(ref), DIGEST_A);
  assert.equal(await client.manifestDigest(ref), DIGEST_A);
  const manifests = reg.requests.filter((r) => r.includes('/manifests/'));
  assert.deepEqual(manifests, ['HEAD /v2/app/manifests/1', 'GET /v2/app/manifests/1', 'HEAD /v2/app/manifests/1', 'GET /v2/app/manifests/1']);

  // the proxy in front was fixed: back to HEAD only, no manifest body fetched
  refuseHead = false;
  assert.equal(await client.manifestDigest(ref), DIGEST_A);
  assert.deepEqual(reg.requests.filter((r) => r.includes('/manifests/')).slice(4), ['HEAD /v2/app/manifests/1']);
});
