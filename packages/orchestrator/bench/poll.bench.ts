/**
 * One registry poll for N watched services (default 200): Dispenser's HEAD-the-manifest watcher
 * against `docker pull` of every image (what the original tool does each poll), both through a
 * byte-counting TCP proxy in front of a private loopback registry. Steady state: every image is
 * already present locally and nothing changed, so this is the cost paid every `delay` seconds.
 *   npm run bench            DISPENSER_BENCH_SERVICES=50 npm run bench   (fewer services)
 */
import { createServer, connect, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@dispenser/shared/log';
import { startContinuousDeployment } from '../src/cd/continuous-deployment.js';
import { runPool } from '../src/cd/pool.js';
import type { Deployer } from '../src/contracts.js';
import { RegistryClient } from '../src/registry/client.js';
import { run } from '../test/helpers/exec.js';
import { config, service } from '@dispenser/shared/testing/config';
import { randomName } from '@dispenser/shared/testing/docker';
import { ImagePusher } from '../test/helpers/images.js';
import { startRegistry } from '../test/helpers/registry-server.js';

const N = Number(process.env.DISPENSER_BENCH_SERVICES ?? 200);
const CONCURRENCY = 8;
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** Forwards loopback TCP to the registry and counts bytes both ways. */
async function countingProxy(target: string): Promise<{ host: string; bytes: () => number; reset: () => void; server: Server }> {
  const [host, port] = target.split(':');
  let bytes = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    client.on('data', (d: Buffer) => (bytes += d.length));
    upstream.on('data', (d: Buffer) => (bytes += d.length));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, bytes: () => bytes, reset: () => (bytes = 0), server };
}

/** Copies one pushed image into N repositories through the registry API (blob mounts: seconds, not minutes). */
async function fanOut(registry: string, source: string, names: string[]): Promise<void> {
  const res = await fetch(`http://${registry}/v2/${source}/manifests/latest`, { headers: { accept: MANIFEST_V2 } });
  const manifest = Buffer.from(await res.arrayBuffer());
  const parsed = JSON.parse(manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const blobs = [parsed.config.digest, ...parsed.layers.map((l) => l.digest)];
  await runPool(names, CONCURRENCY, async (name) => {
    for (const digest of blobs) {
      const m = await fetch(`http://${registry}/v2/${name}/blobs/uploads/?mount=${digest}&from=${source}`, { method: 'POST' });
      await m.arrayBuffer();
      if (m.status !== 201) throw new Error(`mount ${digest} into ${name}: ${m.status}`);
    }
    const put = await fetch(`http://${registry}/v2/${name}/manifests/latest`, { method: 'PUT', headers: { 'content-type': MANIFEST_V2 }, body: manifest });
    await put.arrayBuffer();
    if (put.status !== 201) throw new Error(`manifest ${name}: ${put.status}`);
  });
}

function quietLog() {
  process.env.DISPENSER_LOG_LEVEL ??= 'warn';
  return createLogger('orchestrator');
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  const proxy = await countingProxy(registry.host);
  const pusher = new ImagePusher();
  const source = randomName('bench-src');
  const names = Array.from({ length: N }, (_, i) => `${source}-${i}`);
  try {
    const digest = await pusher.push(`${registry.host}/${source}:latest`);
    await fanOut(registry.host, source, names);
    const images = names.map((n) => `${proxy.host}/${n}:latest`);

    // Dispenser: one poll cycle, every container already runs the current digest.
    const deployer: Deployer = {
      redeploy: async () => {
        throw new Error('nothing changed: no redeploy expected');
      },
      runningImageDigest: async () => digest,
      isRunning: async () => true,
      waitForExit: async () => 0,
    };
    const client = new RegistryClient();
    const cd = startContinuousDeployment(config(images.map((img, i) => service(`s${i}`, { image: img, dispenser: { watch: true } })), { delayMs: 3_600_000 }), { deployer, registry: client, log: quietLog(), concurrency: CONCURRENCY });
    proxy.reset();
    let t0 = performance.now();
    await cd.pollNow();
    const watchMs = performance.now() - t0;
    const watchBytes = proxy.bytes();
    const requests = client.stats.head + client.stats.get;
    await cd.stop();
    await client.close();

    // The original approach: `docker pull` of every image each poll. Warm up once so layers are local.
    await run('docker', ['pull', '-q', images[0] as string]);
    proxy.reset();
    t0 = performance.now();
    await runPool(images, CONCURRENCY, async (img) => {
      await run('docker', ['pull', '-q', img]);
    });
    const pullMs = performance.now() - t0;
    const pullBytes = proxy.bytes();

    const rows: [string, string, string, string][] = [
      ['approach', 'wall time', 'bytes on the wire', 'registry requests'],
      [`dispenser HEAD poll (${CONCURRENCY} parallel)`, `${(watchMs / 1000).toFixed(2)} s`, fmtBytes(watchBytes), String(requests)],
      [`docker pull each (${CONCURRENCY} parallel)`, `${(pullMs / 1000).toFixed(2)} s`, fmtBytes(pullBytes), '-'],
      ['ratio (pull / dispenser)', `${(pullMs / watchMs).toFixed(1)}x`, `${(pullBytes / watchBytes).toFixed(1)}x`, ''],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    console.log(`\nregistry poll, ${N} watched services, nothing changed (loopback docker-registry)`);
    for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  } finally {
    await pusher.cleanup();
    proxy.server.close();
    await registry.stop();
  }
}

await main();
