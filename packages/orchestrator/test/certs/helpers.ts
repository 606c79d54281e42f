import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DispenserConfig, ServiceConfig, CertbotSettings, ProxyStrategy } from '@dispenser/shared/config/types';
import type { CertEntry } from '@dispenser/shared/ipc/messages';
import { lockPort } from '@dispenser/shared/testing/port-lock';
import { config, service } from '@dispenser/shared/testing/config';
import type { MemoryPublisher } from '@dispenser/shared/testing/publisher';

/** Answers HTTP-01 challenges from the publisher's tokens, as a proxy worker would. */
export async function startChallengeServer(
  publisher: MemoryPublisher,
  port: number,
  answersFor: (host: string) => boolean = () => true,
): Promise<HttpServer & { hits: string[] }> {
  const hits: string[] = [];
  const server = createHttpServer((req, res) => {
    const m = /^\/\.well-known\/acme-challenge\/([^/?]+)$/.exec(req.url ?? '');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const answer = m?.[1] && answersFor(host) ? publisher.tokens[m[1]] : undefined;
    hits.push(req.url ?? '');
    if (answer === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
  });
  // the end-to-end certificate tests bind the same port (Pebble's HTTP-01 port) from another process
  const release = await lockPort(port);
  server.once('close', release);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    release();
    throw err;
  }
  return Object.assign(server, { hits });
}

export function closeServer(server: { close(cb: () => void): void; closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function tempStateDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dispenser-certs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function randomHost(prefix = 'c'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}.dispenser.test`;
}

export interface TestService {
  name?: string;
  host: string;
  certFile?: string;
  keyFile?: string;
}

export function makeConfig(opts: {
  stateDir: string;
  services: TestService[];
  certbot?: CertbotSettings;
  strategy?: ProxyStrategy;
}): DispenserConfig {
  const baseDir = join(opts.stateDir, '..');
  const services: ServiceConfig[] = opts.services.map((s, i) =>
    service(s.name ?? `svc${i}`, {
      dir: join(baseDir, `svc${i}`),
      file: join(baseDir, `svc${i}`, 'service.toml'),
      image: 'dispenser-test/busybox:base',
      dispenser: { watch: false, initialize: 'immediately', pull: 'on-startup', strategy: 'rollout' },
      proxy: {
        host: s.host,
        path: '/',
        servicePort: 80,
        ...(s.certFile ? { certFile: s.certFile } : {}),
        ...(s.keyFile ? { keyFile: s.keyFile } : {}),
        healthIntervalMs: 1000,
        healthTimeoutMs: 1000,
        deployTimeoutMs: 60_000,
        drainTimeoutMs: 5_000,
      },
    }),
  );
  const base = config(services, { configFile: join(baseDir, 'dispenser.toml'), baseDir, stateDir: opts.stateDir, ...(opts.certbot ? { certbot: opts.certbot } : {}) });
  return {
    ...base,
    proxy: { ...base.proxy, strategy: opts.strategy ?? 'https-only', bind: '127.0.0.1', connectTimeoutMs: 1000, upstreamTimeoutMs: 1000, shutdownTimeoutMs: 1000 },
  };
}

/**
 * Serve the published certificates from a tiny HTTPS server picking them by SNI, as the proxy
 * does, and return what a TLS client connecting with that SNI sees.
 */
export async function servedCertificate(
  certs: readonly CertEntry[],
  servername: string,
  ca?: string,
): Promise<{ peer: PeerCertificate; authorized: boolean; authorizationError?: string }> {
  const contexts = new Map<string, SecureContext>();
  for (const c of certs) for (const h of c.hosts) contexts.set(h, createSecureContext({ cert: c.certPem, key: c.keyPem }));
  const server = createHttpsServer({
    SNICallback: (name, cb) => {
      const ctx = contexts.get(name.toLowerCase());
      if (ctx) cb(null, ctx);
      else cb(new Error(`no certificate for ${name}`));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}) }, () => {
        const peer = socket.getPeerCertificate();
        const err = socket.authorizationError;
        resolve({ peer, authorized: socket.authorized, ...(err ? { authorizationError: String(err) } : {}) });
        socket.end();
      });
      socket.on('error', reject);
    });
  } finally {
    await closeServer(server);
  }
}
