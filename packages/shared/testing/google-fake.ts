import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createVerify } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Google Secret Manager's REST API and the token endpoints Dispenser uses:
 *   GET  /v1/projects/P/secrets/S/versions/V:access   → { name, payload: { data: base64 } }
 *   GET  /computeMetadata/v1/instance/service-accounts/default/token (Metadata-Flavor: Google)
 *   POST /token   (JWT-bearer grant, signature checked against `publicKeyPem` when given)
 * Point Dispenser at it with DISPENSER_GOOGLE_SECRETS_URL / _METADATA_URL / _TOKEN_URL = url.
 */
export interface GoogleFakeOptions {
  /** "projects/P/secrets/S" → version ("latest", "1", …) → value */
  secrets: Record<string, Record<string, string>>;
  /** verify service-account JWTs with this key; without it any well-formed assertion is accepted */
  publicKeyPem?: string;
}

export interface GoogleFake {
  url: string;
  /** requests seen, as "METHOD path" */
  requests: string[];
  close(): Promise<void>;
}

const METADATA_TOKEN = 'fake-metadata-token';
const JWT_TOKEN = 'fake-jwt-token';

export async function startGoogleFake(options: GoogleFakeOptions): Promise<GoogleFake> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res, options).catch(() => send(res, 500, { error: { code: 500, status: 'INTERNAL', message: 'fake failed' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: GoogleFakeOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  if (req.method === 'GET' && url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
    if (req.headers['metadata-flavor'] !== 'Google') return send(res, 403, { error: 'missing Metadata-Flavor: Google' });
    return send(res, 200, { access_token: METADATA_TOKEN, expires_in: 3599, token_type: 'Bearer' });
  }
  if (req.method === 'POST' && url.pathname === '/token') {
    const form = new URLSearchParams(await body(req));
    const assertion = form.get('assertion') ?? '';
    const [header, claims, signature] = assertion.split('.');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !header || !claims || !signature) return send(res, 400, { error: 'invalid_grant' });
    if (options.publicKeyPem && !createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(options.publicKeyPem, signature, 'base64url')) {
      return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    }
    return send(res, 200, { access_token: JWT_TOKEN, expires_in: 3599, token_type: 'Bearer' });
  }
  const m = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/.exec(url.pathname);
  if (req.method === 'GET' && m) {
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${METADATA_TOKEN}` && auth !== `Bearer ${JWT_TOKEN}`) {
      return send(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } });
    }
    const [, name, version] = m;
    const value = options.secrets[name!]?.[decodeURIComponent(version!)];
    if (value === undefined) return send(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: `Secret [${name}] not found or has no versions.` } });
    return send(res, 200, { name: `${name}/versions/${version}`, payload: { data: Buffer.from(value).toString('base64') } });
  }
  send(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such endpoint in the fake' } });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
