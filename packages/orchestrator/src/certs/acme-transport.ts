import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { parseRetryAfter } from '../retry-after.js';

/**
 * The HTTP side of acme-client, which talks through one process-wide axios instance. Configured
 * once here:
 * - no internal retries: acme-client would sleep up to ~75 s per request on a dead CA; our own
 *   scheduler retries with backoff instead (renewal.ts), keeping the manager responsive;
 * - a request timeout, so a black-holed CA fails instead of hanging an order forever;
 * - an extra trusted CA per directory origin (tests, private CAs) besides NODE_EXTRA_CA_CERTS;
 * - the last ACME problem document per origin is recorded, because acme-client turns problems
 *   into plain Errors and drops their type and the Retry-After header we need to back off right.
 */

export interface AcmeProblem {
  status: number;
  /** e.g. urn:ietf:params:acme:error:rateLimited */
  type: string;
  detail: string;
  retryAfterMs?: number;
  /** monotonically increasing, to tell problems of this attempt from older ones */
  seq: number;
}

interface AxiosLikeConfig {
  url?: string;
  httpsAgent?: unknown;
  timeout?: number;
}
interface AxiosLikeResponse {
  status: number;
  headers: Record<string, unknown>;
  data: unknown;
  config: AxiosLikeConfig;
}

const agents = new Map<string, Agent>();
const problems = new Map<string, AcmeProblem>();
let seq = 0;
let installed = false;
let timeoutMs = 30_000;

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function problemOf(data: unknown): { type: string; detail: string } | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as { type?: unknown; detail?: unknown; error?: { type?: unknown; detail?: unknown } };
  // A challenge or authorization that failed carries the problem in `error`.
  const p = d.error && typeof d.error === 'object' ? d.error : d;
  if (typeof p.type !== 'string' || !p.type.startsWith('urn:ietf:params:acme:error:')) return undefined;
  return { type: p.type, detail: typeof p.detail === 'string' ? p.detail : '' };
}

function install(): void {
  if (installed) return;
  installed = true;
  const instance = acme.axios;
  (instance.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
  // acme-client's own error interceptor turns a transport failure it will not retry into a
  // TypeError (it reads `response.config` of a response that never came), losing ECONNREFUSED and
  // friends. Ours runs first and hands it a plain error without `config`, which it passes through.
  const handlers = (instance.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift({
    fulfilled: (r: unknown) => r,
    rejected: (err: { response?: unknown; code?: string; message?: string; cause?: { code?: string } }) => {
      if (err.response) return Promise.reject(err);
      const code = err.code ?? err.cause?.code;
      return Promise.reject(Object.assign(new Error(err.message ?? String(err)), code ? { code } : {}));
    },
    synchronous: false,
    runWhen: null,
  });
  instance.interceptors.request.use((config) => {
    const origin = originOf(config.url);
    const agent = origin ? agents.get(origin) : undefined;
    if (agent) config.httpsAgent = agent;
    if (!config.timeout) config.timeout = timeoutMs;
    return config;
  });
  instance.interceptors.response.use((response) => {
    const r = response as unknown as AxiosLikeResponse;
    const problem = problemOf(r.data);
    const origin = originOf(r.config.url);
    if (problem && origin) {
      const retryAfter = r.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined, Date.now());
      problems.set(origin, { status: r.status, ...problem, seq: ++seq, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    }
    return response;
  });
}

export interface TransportOptions {
  /** PEM bundle trusted for this directory's origin in addition to the system roots */
  ca?: string | Buffer;
  requestTimeoutMs?: number;
}

/** Prepare acme-client for a directory; returns the directory origin. */
export function configureTransport(directoryUrl: string, opts: TransportOptions = {}): string {
  install();
  if (opts.requestTimeoutMs) timeoutMs = opts.requestTimeoutMs;
  const origin = originOf(directoryUrl) ?? directoryUrl;
  if (opts.ca) {
    const extra = typeof opts.ca === 'string' ? opts.ca : opts.ca.toString('utf8');
    agents.set(origin, new Agent({ ca: [...rootCertificates, extra], keepAlive: true }));
  }
  return origin;
}

/** Current sequence number; problems recorded after it belong to what happens next. */
export function problemMark(): number {
  return seq;
}

/** The last ACME problem from this origin recorded after `mark`, if any. */
export function problemSince(origin: string, mark: number): AcmeProblem | undefined {
  const p = problems.get(origin);
  return p && p.seq > mark ? p : undefined;
}
