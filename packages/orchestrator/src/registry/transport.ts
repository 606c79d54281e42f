import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import { RegistryError } from './errors.js';
import { loadInsecureRegistries, type InsecureMatcher } from './insecure.js';
import { apiHost } from './reference.js';
import { registryCa } from './registry-ca.js';

export interface TransportOptions {
  /** per request, body included; default 15 s */
  timeoutMs?: number;
  /** registries allowed without verified TLS; default: loopback plus the daemon's insecure-registries */
  insecure?: InsecureMatcher;
  /** where per-registry CA certificates live, as for Docker; default /etc/docker/certs.d */
  certsDir?: string;
}

export interface SendOptions {
  method: 'HEAD' | 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** A registry that has not answered (body included) by then is reported as REGISTRY_TIMEOUT. */
export const DEFAULT_TIMEOUT_MS = 15_000;

// The connect (and TLS handshake) timeout is not covered by the request's abort signal: it has
// to be as short as the request timeout, or a registry that accepts TCP and never completes TLS
// holds a check for the connect timeout instead.
function agent(timeoutMs: number, connect: Record<string, unknown> = {}): Agent {
  return new Agent({ connections: 16, keepAliveTimeout: 30_000, connect: { timeout: Math.min(10_000, timeoutMs), ...connect } });
}

/**
 * Picks scheme and TLS trust per registry the way Docker does: verified HTTPS (system roots plus
 * /etc/docker/certs.d/<registry>/*.crt); insecure registries (loopback, daemon.json
 * insecure-registries) get unverified HTTPS first and plain HTTP when that fails.
 * Connections are kept alive and reused across polls.
 */
export class RegistryTransport {
  private readonly plain: Agent;
  private readonly unverified: Agent;
  private readonly verified = new Map<string, Promise<Dispatcher>>();
  private readonly schemes = new Map<string, 'https' | 'http'>();
  private readonly insecure: Promise<InsecureMatcher>;
  private readonly timeoutMs: number;

  constructor(private readonly options: TransportOptions = {}) {
    this.insecure = options.insecure ? Promise.resolve(options.insecure) : loadInsecureRegistries();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.plain = agent(this.timeoutMs);
    this.unverified = agent(this.timeoutMs, { rejectUnauthorized: false });
  }

  async close(): Promise<void> {
    const extra = await Promise.all(this.verified.values());
    await Promise.all([this.plain, this.unverified, ...extra.filter((d) => d !== this.plain)].map((d) => d.close()));
  }

  /** a request to the registry API (`path` starts with /v2/) */
  async send(registry: string, path: string, opts: SendOptions): Promise<Dispatcher.ResponseData> {
    const host = apiHost(registry);
    if (!(await this.insecure)(registry)) return this.request(registry, `https://${host}${path}`, opts, await this.verifiedFor(registry));
    const known = this.schemes.get(registry);
    if (known === 'http') return this.request(registry, `http://${host}${path}`, opts, this.plain);
    try {
      const res = await this.request(registry, `https://${host}${path}`, opts, this.unverified);
      this.schemes.set(registry, 'https');
      return res;
    } catch (err) {
      if (known === 'https') throw err;
      // First contact with an insecure registry that does not speak TLS: plain HTTP, as Docker does.
      const res = await this.request(registry, `http://${host}${path}`, opts, this.plain);
      this.schemes.set(registry, 'http');
      return res;
    }
  }

  /** a request to another URL on the registry's behalf (its token service) */
  async sendTo(registry: string, url: URL, opts: SendOptions): Promise<Dispatcher.ResponseData> {
    let dispatcher: Dispatcher = this.plain;
    if (url.protocol === 'https:') dispatcher = (await this.insecure)(url.host) ? this.unverified : await this.verifiedFor(url.host);
    return this.request(`${registry} token service ${url.host}`, url.toString(), opts, dispatcher);
  }

  private verifiedFor(host: string): Promise<Dispatcher> {
    let d = this.verified.get(host);
    if (!d) {
      d = registryCa(host, this.options.certsDir).then((ca) => (ca ? agent(this.timeoutMs, { ca: [...rootCertificates, ...ca] }) : this.plain));
      this.verified.set(host, d);
    }
    return d;
  }

  private async request(what: string, url: string, opts: SendOptions, dispatcher: Dispatcher): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { method: opts.method, headers: opts.headers, ...(opts.body !== undefined ? { body: opts.body } : {}), dispatcher, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw networkError(what, err);
    }
  }
}

function networkError(what: string, err: unknown): RegistryError {
  const code = errorCode(err) ?? (err instanceof Error && err.cause ? errorCode(err.cause) : undefined);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RegistryError('REGISTRY_DNS', `cannot resolve ${what}`, { scope: 'registry', cause: err, hint: "check the registry host name and the VM's DNS" });
  }
  if (isTimeout(err)) {
    return new RegistryError('REGISTRY_TIMEOUT', `${what} did not answer in time`, { scope: 'registry', cause: err, hint: 'the registry accepts connections but does not answer; it is asked again after the backoff' });
  }
  return new RegistryError('REGISTRY_UNREACHABLE', `cannot reach ${what}: ${code ?? errorMessage(err)}`, { scope: 'registry', cause: err });
}

/** The request's own deadline (AbortSignal.timeout) or one of undici's socket timeouts. */
export function isTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = errorCode(err) ?? (err.cause ? errorCode(err.cause) : undefined);
  const causeName = err.cause instanceof Error ? err.cause.name : undefined;
  return err.name === 'TimeoutError' || err.name === 'AbortError' || causeName === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ABORT_ERR';
}
