import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { sign, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { run } from './exec.js';

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the certificate the registry trusts (rootcertbundle) */
  certPath: string;
  /** token requests served, with the scope asked for */
  requests: { scope: string | null; account: string | null; ok: boolean }[];
  /** lifetime of the tokens it issues */
  expiresInS: number;
  /** grant pull scopes to requests without credentials (like Docker Hub for public images) */
  anonymousPull: boolean;
  /** an OAuth2 refresh token (Docker's "identitytoken") accepted for the user alice */
  refreshToken: string;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A tiny Docker token service (the "auth.token" protocol of the distribution registry): checks
 * Basic credentials and signs an RS256 JWT granting the requested repository scopes, with the
 * signing certificate in x5c so the registry verifies it against its rootcertbundle.
 */
export async function startTokenIssuer(users: Record<string, string>): Promise<TokenIssuer> {
  const dir = await mkdtemp(join(tmpdir(), 'cd-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=dispenser-test-token-issuer']);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = 'dispenser-cd-test';
  const issuer = 'dispenser-cd-test-issuer';

  const state: TokenIssuer = { realm: '', service, issuer, certPath, requests: [], expiresInS: 300, anonymousPull: false, refreshToken: 'rt-' + Math.random().toString(36).slice(2), close: async () => {} };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const form = new URLSearchParams(req.method === 'POST' ? body : '');
    const params = req.method === 'POST' ? form : url.searchParams;
    let scope = params.get('scope');
    const auth = req.headers.authorization ?? '';
    let account: string | null = null;
    let ok = false;
    if (req.method === 'POST') {
      ok = form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === state.refreshToken;
      account = ok ? 'alice' : null;
    } else if (auth.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      account = u ?? null;
      ok = u !== undefined && users[u] === rest.join(':');
    } else if (state.anonymousPull) {
      ok = true;
      scope = scope?.split(' ').map((s) => s.replace(/:[^:]*$/, ':pull')).join(' ') ?? null;
    }
    state.requests.push({ scope, account, ok });
    if (!ok) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = (scope ? scope.split(' ') : []).map((s) => {
      const parts = s.split(':');
      const actions = (parts.pop() ?? '').split(',');
      const [type, ...name] = parts;
      return { type, name: name.join(':'), actions };
    });
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: account, aud: service, exp: now + state.expiresInS, nbf: now - 10, iat: now, jti: Math.random().toString(36).slice(2), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: state.expiresInS, issued_at: new Date(now * 1000).toISOString() }));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  state.close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  return state;
}
