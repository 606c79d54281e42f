import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import { parseRetryAfter } from './backoff.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import { loadInsecureRegistries, type InsecureMatcher } from './insecure.js';
import { apiHost, formatReference, type ImageReference } from './reference.js';
import { registryCa } from './registry-ca.js';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate.js';

/** Manifest media types a tag may point at; asking for all four makes the registry answer with the digest `docker pull` records. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** What the watcher needs: the digest behind a tag. */
export interface DigestSource {
  manifestDigest(ref: ImageReference): Promise<string>;
}

export interface RegistryClientOptions {
  credentials?: CredentialSource;
  dispatcher?: Dispatcher;
  /** per request; default 30 s */
  timeoutMs?: number;
  now?: () => number;
  userAgent?: string;
  /** registries allowed without verified TLS; default: loopback plus the daemon's insecure-registries */
  insecure?: InsecureMatcher;
  /** where per-registry CA certificates live, as for Docker; default /etc/docker/certs.d */
  certsDir?: string;
}

/** Requests the registry answered, for tests and the benchmark. */
export interface RegistryClientStats {
  head: number;
  get: number;
  token: number;
}

type AuthMode = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are dropped a little before the registry would, so a request never races the expiry. */
const TOKEN_MARGIN_MS = 5_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * A thin registry v2 client that only answers "which digest is behind this tag": HEAD on the
 * manifest (GET when HEAD is rejected), with anonymous, Basic or Bearer-token auth. It never
 * fetches a blob.
 */
export class RegistryClient implements DigestSource {
  readonly stats: RegistryClientStats = { head: 0, get: 0, token: 0 };
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly userAgent: string;
  private readonly modes = new Map<string, AuthMode>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** registries that refused HEAD once: asked with GET straight away from then on */
  private readonly noHead = new Set<string>();
  /** for insecure registries: the scheme that answered first (Docker tries HTTPS, then HTTP) */
  private readonly schemes = new Map<string, 'https' | 'http'>();
  private readonly insecure: Promise<InsecureMatcher>;
  private readonly unverified: Agent;
  /** per-registry agents for registries with their own CA in certs.d */
  private readonly verified = new Map<string, Promise<Dispatcher>>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ connections: 16, keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.userAgent = options.userAgent ?? 'dispenser';
    this.insecure = options.insecure ? Promise.resolve(options.insecure) : loadInsecureRegistries();
    this.unverified = new Agent({ connections: 16, keepAliveTimeout: 30_000, connect: { timeout: 10_000, rejectUnauthorized: false } });
  }

  async close(): Promise<void> {
    await this.unverified.close();
    for (const d of this.verified.values()) {
      const agent = await d;
      if (agent !== this.dispatcher) await agent.close();
    }
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async manifestDigest(ref: ImageReference): Promise<string> {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const path = `/v2/${ref.repository}/manifests/${reference}`;
    const scope = `repository:${ref.repository}:pull`;
    let method: 'HEAD' | 'GET' = this.noHead.has(ref.registry) ? 'GET' : 'HEAD';
    let challenged = false;
    let refreshToken = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const authorization = await this.authorization(ref.registry, scope, refreshToken);
      refreshToken = false;
      const res = await this.send(ref, path, method, authorization);
      if (res.statusCode === 401) {
        const header = res.headers['www-authenticate'];
        await res.body.dump();
        if (challenged) {
          const had = (await this.credentialsFor(ref.registry)) !== undefined;
          this.options.credentials?.forget?.(ref.registry);
          throw new RegistryError('REGISTRY_UNAUTHORIZED', had ? `${ref.registry} refused the credentials for ${ref.repository}` : `${ref.registry} requires credentials for ${ref.repository} and none are configured`, { scope: 'repository', status: 401, hint: `check docker login ${ref.registry} for the user running Dispenser (config.json auths, credHelpers or credsStore)` });
        }
        this.learnChallenge(ref, typeof header === 'string' ? header : Array.isArray(header) ? header.join(', ') : undefined);
        challenged = true;
        refreshToken = true;
        continue;
      }
      // Some registries and proxies refuse HEAD; the digest is then read from a GET.
      if (method === 'HEAD' && (res.statusCode === 405 || res.statusCode === 501 || res.statusCode === 400)) {
        await res.body.dump();
        if (res.statusCode !== 400) this.noHead.add(ref.registry);
        method = 'GET';
        continue;
      }
      if (res.statusCode === 200) {
        const header = res.headers['docker-content-digest'];
        const digest = typeof header === 'string' ? header.trim() : undefined;
        if (method === 'HEAD') {
          await res.body.dump();
          if (digest) return digest;
          method = 'GET';
          continue;
        }
        const body = Buffer.from(await res.body.arrayBuffer());
        return digest || `sha256:${createHash('sha256').update(body).digest('hex')}`;
      }
      await res.body.dump();
      throw this.statusError(ref, res.statusCode, res.headers['retry-after']);
    }
    throw new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} kept asking for authentication for ${ref.repository}`, { scope: 'registry' });
  }

  private async send(ref: ImageReference, path: string, method: 'HEAD' | 'GET', authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const host = apiHost(ref.registry);
    if (!(await this.insecure)(ref.registry)) return this.request(ref, `https://${host}${path}`, method, authorization, await this.verifiedDispatcher(ref.registry));
    const known = this.schemes.get(ref.registry);
    if (known === 'http') return this.request(ref, `http://${host}${path}`, method, authorization, this.dispatcher);
    try {
      const res = await this.request(ref, `https://${host}${path}`, method, authorization, this.unverified);
      this.schemes.set(ref.registry, 'https');
      return res;
    } catch (err) {
      if (known === 'https') throw err;
      // First contact with an insecure registry that does not speak TLS: plain HTTP, as Docker does.
      const res = await this.request(ref, `http://${host}${path}`, method, authorization, this.dispatcher);
      this.schemes.set(ref.registry, 'http');
      return res;
    }
  }

  /** the system roots, plus the registry's own CA when certs.d has one (Docker's layout) */
  private verifiedDispatcher(registry: string): Promise<Dispatcher> {
    let d = this.verified.get(registry);
    if (!d) {
      d = registryCa(registry, this.options.certsDir).then((ca) =>
        ca ? new Agent({ connections: 16, keepAliveTimeout: 30_000, connect: { timeout: 10_000, ca: [...rootCertificates, ...ca] } }) : this.dispatcher,
      );
      this.verified.set(registry, d);
    }
    return d;
  }

  private async request(ref: ImageReference, url: string, method: 'HEAD' | 'GET', authorization: string | undefined, dispatcher: Dispatcher): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: MANIFEST_ACCEPT, 'user-agent': this.userAgent };
    if (authorization) headers.authorization = authorization;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method, headers, dispatcher, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw networkError(ref.registry, err);
    }
    if (method === 'HEAD') this.stats.head++;
    else this.stats.get++;
    return res;
  }

  private statusError(ref: ImageReference, status: number, retryAfter: string | string[] | undefined): RegistryError {
    const name = formatReference(ref);
    if (status === 404) return new RegistryError('REGISTRY_MANIFEST_NOT_FOUND', `${name} does not exist in the registry`, { scope: 'repository', status, hint: 'check the image name and tag, or push the image' });
    if (status === 403) return new RegistryError('REGISTRY_DENIED', `${ref.registry} denied access to ${ref.repository}`, { scope: 'repository', status, hint: 'the credentials are valid but lack pull permission on this repository' });
    if (status === 429 || status === 503) {
      const ra = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, this.now());
      return new RegistryError(status === 429 ? 'REGISTRY_RATE_LIMITED' : 'REGISTRY_UNAVAILABLE', `${ref.registry} answered ${status}${ra !== undefined ? `, retry after ${Math.round(ra / 1000)} s` : ''}`, { scope: 'registry', status, ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
    }
    if (status >= 500) return new RegistryError('REGISTRY_UNAVAILABLE', `${ref.registry} answered ${status} for ${ref.repository}`, { scope: 'registry', status });
    return new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} answered ${status} for ${name}`, { scope: 'repository', status });
  }

  private learnChallenge(ref: ImageReference, header: string | undefined): void {
    const challenges: Challenge[] = header ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer?.params.realm) {
      let realm: URL;
      try {
        realm = new URL(bearer.params.realm);
      } catch {
        throw new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} sent a token realm that is not a URL`, { scope: 'registry' });
      }
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} sent a token realm that is not http(s)`, { scope: 'registry' });
      this.modes.set(ref.registry, { kind: 'bearer', realm: realm.toString(), service: bearer.params.service });
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.modes.set(ref.registry, { kind: 'basic' });
      return;
    }
    throw new RegistryError('REGISTRY_AUTH_UNSUPPORTED', `${ref.registry} asks for an authentication scheme Dispenser does not speak (${header ?? 'no WWW-Authenticate header'})`, { scope: 'registry', status: 401 });
  }

  /** The Authorization header for a request, from what the registry asked for last time. */
  private async authorization(registry: string, scope: string, fresh: boolean): Promise<string | undefined> {
    const mode = this.modes.get(registry) ?? { kind: 'none' };
    if (mode.kind === 'none') return undefined;
    const creds = await this.credentialsFor(registry);
    if (mode.kind === 'basic') {
      if (!creds || creds.kind !== 'basic') {
        throw new RegistryError('REGISTRY_UNAUTHORIZED', `${registry} requires a user name and password and none are configured`, { scope: 'repository', status: 401, hint: `run docker login ${registry} as the user running Dispenser` });
      }
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const key = `${registry}|${scope}`;
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(registry, mode, scope, creds).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  private async credentialsFor(registry: string): Promise<Credentials | undefined> {
    if (!this.options.credentials) return undefined;
    try {
      return await this.options.credentials.get(registry);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError(errorCode(err) ?? 'REGISTRY_CREDENTIALS_INVALID', errorMessage(err), { scope: 'registry', cause: err });
    }
  }

  private async fetchToken(registry: string, mode: { realm: string; service: string | undefined }, scope: string, creds: Credentials | undefined): Promise<string> {
    this.stats.token++;
    const started = this.now();
    const url = new URL(mode.realm);
    const dispatcher = url.protocol === 'https:' && (await this.insecure)(url.host) ? this.unverified : this.dispatcher;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    let res: Dispatcher.ResponseData;
    try {
      if (creds?.kind === 'identity-token') {
        // OAuth2 refresh-token grant, as Docker does for an identity token.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.token, client_id: 'dispenser', scope });
        if (mode.service) form.set('service', mode.service);
        headers['content-type'] = 'application/x-www-form-urlencoded';
        res = await request(url, { method: 'POST', headers, body: form.toString(), dispatcher, signal: AbortSignal.timeout(this.timeoutMs) });
      } else {
        if (mode.service) url.searchParams.set('service', mode.service);
        url.searchParams.set('scope', scope);
        if (creds?.kind === 'basic') {
          url.searchParams.set('account', creds.username);
          headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
        }
        res = await request(url, { method: 'GET', headers, dispatcher, signal: AbortSignal.timeout(this.timeoutMs) });
      }
    } catch (err) {
      throw networkError(`${registry} token service ${url.host}`, err);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      if (res.statusCode === 401 || res.statusCode === 403) {
        const what = creds ? `refused the credentials (${res.statusCode})` : `requires credentials and none are configured (${res.statusCode})`;
        throw new RegistryError('REGISTRY_UNAUTHORIZED', `the token service of ${registry} ${what}`, { scope: 'repository', status: res.statusCode, hint: `check docker login ${registry} for the user running Dispenser` });
      }
      if (res.statusCode === 429) {
        const ra = parseRetryAfter(res.headers['retry-after'] as string | undefined, this.now());
        throw new RegistryError('REGISTRY_RATE_LIMITED', `the token service of ${registry} answered 429`, { scope: 'registry', status: 429, ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
      }
      throw new RegistryError('REGISTRY_UNAVAILABLE', `the token service of ${registry} answered ${res.statusCode}`, { scope: 'registry', status: res.statusCode });
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = (await res.body.json()) as typeof body;
    } catch {
      throw new RegistryError('REGISTRY_PROTOCOL', `the token service of ${registry} answered with something that is not JSON`, { scope: 'registry' });
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('REGISTRY_PROTOCOL', `the token service of ${registry} sent no token`, { scope: 'registry' });
    const lifetimeS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    this.tokens.set(`${registry}|${scope}`, { token, expiresAt: started + Math.max(0, lifetimeS * 1000 - TOKEN_MARGIN_MS) });
    return token;
  }
}

function networkError(what: string, err: unknown): RegistryError {
  const code = errorCode(err) ?? (err instanceof Error && err.cause ? errorCode(err.cause) : undefined);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RegistryError('REGISTRY_DNS', `cannot resolve ${what}`, { scope: 'registry', cause: err, hint: 'check the registry host name and the VM\'s DNS' });
  }
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT')) {
    return new RegistryError('REGISTRY_TIMEOUT', `${what} did not answer in time`, { scope: 'registry', cause: err });
  }
  return new RegistryError('REGISTRY_UNREACHABLE', `cannot reach ${what}: ${code ?? errorMessage(err)}`, { scope: 'registry', cause: err });
}
