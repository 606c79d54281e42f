import { createHash } from 'node:crypto';
import { RegistryAuthenticator } from './auth.js';
import { parseRetryAfter } from '../retry-after.js';
import { MAX_RETRY_AFTER_MS } from './backoff.js';
import type { CredentialSource } from './credentials.js';
import { discard, MAX_MANIFEST_BYTES, readCapped } from './body.js';
import { RegistryError } from './errors.js';
import type { InsecureMatcher } from './insecure.js';
import { formatReference, type ImageReference } from './reference.js';
import { RegistryTransport } from './transport.js';

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
  /** per request, body included; default 15 s */
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

const name = (ref: ImageReference): string => formatReference(ref);

/** HEAD refusals after which the digest is read with GET */
const HEAD_REFUSED = new Set([400, 405, 501]);

/**
 * A thin registry v2 client that only answers "which digest is behind this tag": HEAD on the
 * manifest (GET when HEAD is refused), with anonymous, Basic or Bearer-token auth. It never
 * fetches a blob.
 */
export class RegistryClient implements DigestSource {
  readonly stats: RegistryClientStats = { head: 0, get: 0, token: 0 };
  private readonly transport: RegistryTransport;
  private readonly auth: RegistryAuthenticator;
  private readonly now: () => number;
  private readonly userAgent: string;

  constructor(options: RegistryClientOptions = {}) {
    this.now = options.now ?? Date.now;
    this.userAgent = options.userAgent ?? 'dispenser';
    this.transport = new RegistryTransport({
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.insecure ? { insecure: options.insecure } : {}),
      ...(options.certsDir !== undefined ? { certsDir: options.certsDir } : {}),
    });
    this.auth = new RegistryAuthenticator({
      transport: this.transport,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      now: this.now,
      userAgent: this.userAgent,
      onToken: () => this.stats.token++,
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  async manifestDigest(ref: ImageReference): Promise<string> {
    const path = `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`;
    const scope = `repository:${ref.repository}:pull`;
    // Always HEAD first: a refusal may come from a proxy or a registry upgrade in between, so
    // it only turns this one check into a GET and is never remembered.
    let method: 'HEAD' | 'GET' = 'HEAD';
    let challenged = false;
    let freshToken = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const authorization = await this.auth.authorization(ref.registry, scope, freshToken);
      freshToken = false;
      const headers: Record<string, string> = { accept: MANIFEST_ACCEPT, 'user-agent': this.userAgent };
      if (authorization) headers.authorization = authorization;
      const res = await this.transport.send(ref.registry, path, { method, headers });
      if (method === 'HEAD') this.stats.head++;
      else this.stats.get++;

      if (res.statusCode === 401) {
        await discard(res);
        if (challenged) throw await this.auth.refused(ref.registry, ref.repository);
        const header = res.headers['www-authenticate'];
        this.auth.learnChallenge(ref.registry, Array.isArray(header) ? header.join(', ') : header);
        challenged = true;
        freshToken = true;
        continue;
      }
      if (method === 'HEAD' && HEAD_REFUSED.has(res.statusCode)) {
        await discard(res);
        method = 'GET';
        continue;
      }
      if (res.statusCode === 200) {
        const header = res.headers['docker-content-digest'];
        const digest = typeof header === 'string' ? header.trim() : undefined;
        if (method === 'HEAD') {
          await discard(res);
          if (digest) return digest;
          method = 'GET';
          continue;
        }
        const body = await readCapped(res, MAX_MANIFEST_BYTES, `${ref.registry} (manifest of ${name(ref)})`);
        return digest || `sha256:${createHash('sha256').update(body).digest('hex')}`;
      }
      await discard(res);
      throw this.statusError(ref, res.statusCode, res.headers['retry-after']);
    }
    throw new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} kept asking for authentication for ${ref.repository}`, { scope: 'registry' });
  }

  private statusError(ref: ImageReference, status: number, retryAfter: string | string[] | undefined): RegistryError {
    const name = formatReference(ref);
    if (status === 404) return new RegistryError('REGISTRY_MANIFEST_NOT_FOUND', `${name} does not exist in the registry`, { scope: 'repository', status, hint: 'check the image name and tag, or push the image' });
    if (status === 403) return new RegistryError('REGISTRY_DENIED', `${ref.registry} denied access to ${ref.repository}`, { scope: 'repository', status, hint: 'the credentials are valid but lack pull permission on this repository' });
    if (status === 429 || status === 503) {
      const ra = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, this.now(), MAX_RETRY_AFTER_MS);
      return new RegistryError(status === 429 ? 'REGISTRY_RATE_LIMITED' : 'REGISTRY_UNAVAILABLE', `${ref.registry} answered ${status}${ra !== undefined ? `, retry after ${Math.round(ra / 1000)} s` : ''}`, { scope: 'registry', status, ...(ra !== undefined ? { retryAfterMs: ra } : {}) });
    }
    if (status >= 500) return new RegistryError('REGISTRY_UNAVAILABLE', `${ref.registry} answered ${status} for ${ref.repository}`, { scope: 'registry', status });
    return new RegistryError('REGISTRY_PROTOCOL', `${ref.registry} answered ${status} for ${name}`, { scope: 'repository', status });
  }
}
