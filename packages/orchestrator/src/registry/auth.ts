import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import type { Dispatcher } from 'undici';
import { parseRetryAfter } from '../retry-after.js';
import { MAX_RETRY_AFTER_MS } from './backoff.js';
import { discard, readCapped } from './body.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import type { RegistryTransport } from './transport.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

type AuthMode = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

/** Tokens are dropped a little before the registry would, so a request never races the expiry. */
const TOKEN_MARGIN_MS = 5_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;
const TOKEN_MAX_BYTES = 1024 * 1024;

export interface RegistryAuthenticatorOptions {
  transport: RegistryTransport;
  credentials?: CredentialSource;
  now: () => number;
  userAgent: string;
  /** called for every token the token service hands out */
  onToken?: () => void;
}

const basic = (c: { username: string; password: string }): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/**
 * What each registry asked for (from its last WWW-Authenticate challenge) and the Bearer tokens
 * it handed out, one per repository scope, cached until they expire.
 */
export class RegistryAuthenticator {
  private readonly modes = new Map<string, AuthMode>();
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly options: RegistryAuthenticatorOptions) {}

  /** Remembers what a 401 asked for; throws when no supported scheme was offered. */
  learnChallenge(registry: string, header: string | undefined): void {
    const challenges = header ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer?.params.realm) {
      let realm: URL;
      try {
        realm = new URL(bearer.params.realm);
      } catch {
        throw new RegistryError('REGISTRY_PROTOCOL', `${registry} sent a token realm that is not a URL`, { scope: 'registry' });
      }
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError('REGISTRY_PROTOCOL', `${registry} sent a token realm that is not http(s)`, { scope: 'registry' });
      this.modes.set(registry, { kind: 'bearer', realm: realm.toString(), service: bearer.params.service });
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.modes.set(registry, { kind: 'basic' });
      return;
    }
    throw new RegistryError('REGISTRY_AUTH_UNSUPPORTED', `${registry} asks for an authentication scheme Dispenser does not speak (${header ?? 'no WWW-Authenticate header'})`, { scope: 'registry', status: 401 });
  }

  /** The Authorization header for a request; `fresh` skips the token cache (right after a challenge). */
  async authorization(registry: string, scope: string, fresh: boolean): Promise<string | undefined> {
    const mode = this.modes.get(registry) ?? { kind: 'none' };
    if (mode.kind === 'none') return undefined;
    const creds = await this.credentials(registry);
    if (mode.kind === 'basic') {
      if (!creds || creds.kind !== 'basic') {
        throw new RegistryError('REGISTRY_UNAUTHORIZED', `${registry} requires a user name and password and none are configured`, { scope: 'repository', status: 401, hint: `run docker login ${registry} as the user running Dispenser` });
      }
      return basic(creds);
    }
    const key = `${registry}|${scope}`;
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.expiresAt > this.options.now()) return `Bearer ${cached.token}`;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(registry, mode, scope, creds).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  /** After the registry refused what we sent: the error to report, and forget cached credentials. */
  async refused(registry: string, repository: string): Promise<RegistryError> {
    const had = (await this.credentials(registry)) !== undefined;
    this.options.credentials?.forget?.(registry);
    return new RegistryError('REGISTRY_UNAUTHORIZED', had ? `${registry} refused the credentials for ${repository}` : `${registry} requires credentials for ${repository} and none are configured`, {
      scope: 'repository',
      status: 401,
      hint: `check docker login ${registry} for the user running Dispenser (config.json auths, credHelpers or credsStore)`,
    });
  }

  private async credentials(registry: string): Promise<Credentials | undefined> {
    if (!this.options.credentials) return undefined;
    try {
      return await this.options.credentials.get(registry);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      // credentials.ts says which of the two; any other failure reading them is a bad config too
      const code = err instanceof DispenserError && err.code === 'REGISTRY_CREDENTIAL_HELPER_FAILED' ? err.code : 'REGISTRY_CREDENTIALS_INVALID';
      throw new RegistryError(code, errorMessage(err), { scope: 'registry', cause: err, ...(err instanceof DispenserError && err.hint !== undefined ? { hint: err.hint } : {}) });
    }
  }

  private async fetchToken(registry: string, mode: { realm: string; service: string | undefined }, scope: string, creds: Credentials | undefined): Promise<string> {
    const started = this.options.now();
    const url = new URL(mode.realm);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'application/json' };
    let res: Dispatcher.ResponseData;
    if (creds?.kind === 'identity-token') {
      // OAuth2 refresh-token grant, as Docker does for an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.token, client_id: 'dispenser', scope });
      if (mode.service) form.set('service', mode.service);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.options.transport.sendTo(registry, url, { method: 'POST', headers, body: form.toString() });
    } else {
      if (mode.service) url.searchParams.set('service', mode.service);
      url.searchParams.set('scope', scope);
      if (creds?.kind === 'basic') {
        url.searchParams.set('account', creds.username);
        headers.authorization = basic(creds);
      }
      res = await this.options.transport.sendTo(registry, url, { method: 'GET', headers });
    }
    if (res.statusCode !== 200) {
      await discard(res);
      if (res.statusCode === 401 || res.statusCode === 403) {
        const what = creds ? `refused the credentials (${res.statusCode})` : `requires credentials and none are configured (${res.statusCode})`;
        throw new RegistryError('REGISTRY_UNAUTHORIZED', `the token service of ${registry} ${what}`, { scope: 'repository', status: res.statusCode, hint: `check docker login ${registry} for the user running Dispenser` });
      }
      if (res.statusCode === 429) {
        const ra = parseRetryAfter(res.headers['retry-after'] as string | undefined, this.options.now(), MAX_RETRY_AFTER_MS);
        throw new RegistryError('REGISTRY_RATE_LIMITED', `the token service of ${registry} answered 429`, { scope: 'registry', status: 429, ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
      }
      throw new RegistryError('REGISTRY_UNAVAILABLE', `the token service of ${registry} answered ${res.statusCode}`, { scope: 'registry', status: res.statusCode });
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    // a token answer is a few KiB; a bigger one is refused like an oversized manifest
    const raw = await readCapped(res, TOKEN_MAX_BYTES, `the token service of ${registry}`);
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch {
      throw new RegistryError('REGISTRY_PROTOCOL', `the token service of ${registry} answered with something that is not JSON`, { scope: 'registry' });
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('REGISTRY_PROTOCOL', `the token service of ${registry} sent no token`, { scope: 'registry' });
    this.options.onToken?.();
    const lifetimeS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    this.tokens.set(`${registry}|${scope}`, { token, expiresAt: started + Math.max(0, lifetimeS * 1000 - TOKEN_MARGIN_MS) });
    return token;
  }
}
