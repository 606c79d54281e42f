import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@dispenser/shared/log';
import type { ProxySettings } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import { ProxyWorker } from '../src/proxy-worker.js';
import { captureLog } from '@dispenser/shared/testing/log';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';

export interface Backend {
  port: number;
  server: Server;
  /** requests seen, in order */
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A loopback upstream; the default handler answers JSON describing the request it got. */
export async function startBackend(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Cert {
  certPem: string;
  keyPem: string;
}

/** A throwaway self-signed certificate (EC P-256, or RSA 2048) for the given names (first one is the CN). */
export function makeCert(names: string[], kind: 'ec' | 'rsa' = 'ec'): Cert {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-proxy-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', ...(kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048']), '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ], { stdio: 'ignore' });
    return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loopback, ports chosen by the system, short upstream timeouts. */
export function testSettings(over: Partial<ProxySettings> = {}): ProxySettings {
  return testProxySettings({ strategy: 'both', httpPort: 0, httpsPort: 0, bind: '127.0.0.1', connectTimeoutMs: 2_000, upstreamTimeoutMs: 5_000, shutdownTimeoutMs: 2_000, ...over });
}

export function route(host: string, path: string, port: number, service = host): Route {
  return { service, host, path, upstream: { host: '127.0.0.1', port } };
}

/** An in-process worker listening on loopback with the given settings. */
export async function startProxy(settings: Partial<ProxySettings> = {}, logger: Logger = captureLog({ level: 'info', component: 'proxy' }).log): Promise<ProxyWorker> {
  const w = new ProxyWorker(logger);
  await w.apply({ type: 'proxy-settings', version: 1, settings: testSettings(settings) });
  return w;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** HTTP/2 over TLS; `servername` is the SNI name (also used as :authority). */
export function h2session(port: number, servername: string, ca: string): ClientHttp2Session {
  return h2connect(`https://${servername}:${port}`, { ca, servername, host: '127.0.0.1', lookup: (_h: string, _o: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, '127.0.0.1', 4) } as never);
}

export function h2get(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    let status = 0;
    let hdrs: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      hdrs = h as IncomingHttpHeaders;
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers: hdrs, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    stream.end();
  });
}

/** Completes a TLS handshake for `servername` and returns the certificate's subject CN and the ALPN protocol. */
export function handshake(port: number, servername: string, ca: string, ALPNProtocols = ['h2', 'http/1.1']): Promise<{ cn: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols }, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      const alpn = socket.alpnProtocol ?? false;
      socket.destroy();
      resolve({ cn, alpn });
    });
    socket.on('error', reject);
  });
}
