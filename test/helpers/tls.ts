/** TLS client helpers for end-to-end tests: what a client sees on the HTTPS port. */
import https from 'node:https';
import tls from 'node:tls';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@dispenser/shared/testing/ports';
import { readReply, type Reply } from './http.js';
export { freePort };

export interface Peer {
  cert: tls.DetailedPeerCertificate;
  /** chain verified against `ca` (when given) */
  authorized: boolean;
  authorizationError?: string;
}

/**
 * Waits until 127.0.0.1:port can be bound (e.g. Pebble's fixed HTTP-01 port, which another test
 * file may hold for a moment); throws after timeoutMs naming the port.
 */
export async function waitForPortFree(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return;
    if (Date.now() > deadline) throw new Error(`port ${port} is still in use by another process after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Handshake with SNI `servername` on 127.0.0.1:port; returns the served certificate. */
export function peerCertificate(port: number, servername: string, ca?: string | string[], timeoutMs = 5000): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}), ALPNProtocols: ['http/1.1'] });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('TLS handshake timeout')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true);
      const authErr = socket.authorizationError;
      socket.end();
      resolve({ cert, authorized: socket.authorized, ...(authErr ? { authorizationError: String(authErr) } : {}) });
    });
    socket.once('error', reject);
  });
}

/** Polls the handshake until `pred` holds for the served certificate. */
export async function waitForPeer(port: number, servername: string, pred: (p: Peer) => boolean, opts: { ca?: string | string[]; timeoutMs?: number } = {}): Promise<Peer> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const p = await peerCertificate(port, servername, opts.ca);
      if (pred(p)) return p;
      last = `served ${String(p.cert.subject?.CN)} serial ${p.cert.serialNumber} issuer ${p.cert.issuer?.CN}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no matching certificate for ${servername} on :${port}; last: ${String(last)}`);
}

export type HttpsReply = Reply;

/** GET over HTTPS to 127.0.0.1:port with SNI and Host `host`, verifying the chain against `ca`. */
export function httpsGet(port: number, host: string, path: string, ca: string | string[], timeoutMs = 5000): Promise<HttpsReply> {
  return readReply(https.get({ host: '127.0.0.1', port, path, servername: host, headers: { host }, ca, agent: false, timeout: timeoutMs }));
}

export async function waitForHttps(port: number, host: string, path: string, ca: string | string[], pred: (r: HttpsReply) => boolean, timeoutMs = 30_000): Promise<HttpsReply> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await httpsGet(port, host, path, ca);
      if (pred(r)) return r;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no matching HTTPS reply from ${host}${path} on :${port}; last: ${String(last)}`);
}

/**
 * Pebble's current issuing root (it makes a new one at every start), from its management API,
 * whose own TLS certificate is `pebbleCa` (infra's pebbleManagement is `managementUrl`).
 */
export function pebbleRoot(pebbleCa: string, managementUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${managementUrl}/roots/0`, { ca: readFileSync(pebbleCa), agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`Pebble /roots/0: ${res.statusCode} ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A self-signed EC P-256 certificate for `host` made with openssl; returns the PEMs. */
export function opensslSelfSigned(host: string, subjectCn = host, days = 30): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-openssl-'));
  try {
    const keyFile = join(dir, 'key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], { stdio: 'pipe' });
    const cert = execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', keyFile, '-days', String(days), '-subj', `/CN=${subjectCn}`, '-addext', `subjectAltName=DNS:${host}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { certPem: cert, keyPem: readFileSync(keyFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
