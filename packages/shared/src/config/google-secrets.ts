import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Google Secret Manager over its REST API, with an access token from the VM's metadata server or
 * from the service-account key named by GOOGLE_APPLICATION_CREDENTIALS. Base URLs can be pointed
 * at a local server (tests): DISPENSER_GOOGLE_SECRETS_URL, DISPENSER_GOOGLE_METADATA_URL,
 * DISPENSER_GOOGLE_TOKEN_URL.
 */
export const GOOGLE_SECRETS_URL = 'https://secretmanager.googleapis.com';
export const GOOGLE_METADATA_URL = 'http://metadata.google.internal';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const TIMEOUT_MS = 10_000;

export class GoogleSecretError extends Error {}

export class GoogleSecretClient {
  private token: Promise<string> | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The secret's payload as UTF-8 text. Throws GoogleSecretError with a message safe to show. */
  async access(name: string, version: string): Promise<string> {
    const token = await (this.token ??= this.fetchToken());
    const base = (this.env.DISPENSER_GOOGLE_SECRETS_URL ?? GOOGLE_SECRETS_URL).replace(/\/$/, '');
    const url = `${base}/v1/${name}/versions/${encodeURIComponent(version)}:access`;
    const res = await request(url, { headers: { authorization: `Bearer ${token}` } }, 'Secret Manager');
    if (!res.ok) {
      const hint = res.status === 404 ? 'check the secret name and version' : res.status === 403 || res.status === 401 ? 'grant the service account roles/secretmanager.secretAccessor on it' : 'try again later';
      throw new GoogleSecretError(`Secret Manager answered ${res.status}${await googleReason(res)} for ${name} version ${version}; ${hint}`);
    }
    const body = (await res.json().catch(() => undefined)) as { payload?: { data?: unknown } } | undefined;
    const data = body?.payload?.data;
    if (typeof data !== 'string') throw new GoogleSecretError(`Secret Manager's answer for ${name} has no payload.data`);
    return Buffer.from(data, 'base64').toString('utf8');
  }

  private async fetchToken(): Promise<string> {
    const keyFile = this.env.GOOGLE_APPLICATION_CREDENTIALS;
    return keyFile ? this.serviceAccountToken(keyFile) : this.metadataToken();
  }

  private async metadataToken(): Promise<string> {
    const host = this.env.DISPENSER_GOOGLE_METADATA_URL ?? (this.env.GCE_METADATA_HOST ? `http://${this.env.GCE_METADATA_HOST}` : GOOGLE_METADATA_URL);
    const url = `${host.replace(/\/$/, '')}/computeMetadata/v1/instance/service-accounts/default/token`;
    const res = await request(url, { headers: { 'metadata-flavor': 'Google' } }, 'the metadata server', 'on a machine outside Google Cloud set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file');
    if (!res.ok) throw new GoogleSecretError(`the metadata server answered ${res.status} for an access token; give the VM a service account with the cloud-platform scope`);
    return tokenFrom(await res.json().catch(() => undefined), 'the metadata server');
  }

  private async serviceAccountToken(keyFile: string): Promise<string> {
    let key: { type?: string; client_email?: string; private_key?: string; token_uri?: string };
    try {
      key = JSON.parse(await readFile(keyFile, 'utf8')) as typeof key;
    } catch (err) {
      throw new GoogleSecretError(`cannot read GOOGLE_APPLICATION_CREDENTIALS file ${keyFile}: ${(err as Error).message}`);
    }
    if (key.type !== 'service_account' || !key.client_email || !key.private_key) {
      throw new GoogleSecretError(`GOOGLE_APPLICATION_CREDENTIALS file ${keyFile} is not a service-account key (expected "type": "service_account" with client_email and private_key)`);
    }
    const tokenUrl = this.env.DISPENSER_GOOGLE_TOKEN_URL ?? key.token_uri ?? GOOGLE_TOKEN_URL;
    const now = Math.floor(Date.now() / 1000);
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iss: key.client_email, scope: SCOPE, aud: tokenUrl, iat: now, exp: now + 3600 })}`;
    let signature: string;
    try {
      signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key, 'base64url');
    } catch {
      throw new GoogleSecretError(`the private_key in ${keyFile} is not a usable RSA key`);
    }
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` });
    const res = await request(tokenUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'the Google token endpoint');
    if (!res.ok) throw new GoogleSecretError(`the Google token endpoint answered ${res.status}${await googleReason(res)} for ${key.client_email}; check that the key is current`);
    return tokenFrom(await res.json().catch(() => undefined), 'the Google token endpoint');
  }
}

async function request(url: string, init: RequestInit, what: string, hint = 'check the network'): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new GoogleSecretError(`cannot reach ${what} at ${originOf(url)}: ${reason}; ${hint}`);
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return `"${url}" (not a URL)`;
  }
}

function tokenFrom(body: unknown, what: string): string {
  const token = (body as { access_token?: unknown } | undefined)?.access_token;
  if (typeof token !== 'string' || token === '') throw new GoogleSecretError(`${what} returned no access_token`);
  return token;
}

async function googleReason(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
  const error = body?.error;
  // Google APIs answer { error: { status, message } }; the OAuth token endpoint { error, error_description }
  const status = typeof error === 'string' ? error : typeof (error as { status?: unknown })?.status === 'string' ? (error as { status: string }).status : undefined;
  const detail = typeof error === 'string' ? body?.error_description : (error as { message?: unknown } | undefined)?.message;
  const message = typeof detail === 'string' ? detail : undefined;
  return status || message ? ` (${[status, message].filter(Boolean).join(': ')})` : '';
}
