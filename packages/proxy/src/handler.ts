import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@dispenser/shared/log';
import { lookup, type CompiledRoute, type TableEntry, type UnavailableRoute } from './table.js';
import type { ProxyMetrics } from './metrics.js';
import { checkHead, type RequestHead } from './request-target.js';
import { KeyedLogLimiter } from './log-limiter.js';
import { pipelineOf } from './pipeline.js';
import type { ProxyState } from './state.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { TuningHooks } from './tuning/hooks.js';
import { BODY_TIMEOUT, watchBody } from './body-timeout.js';
import { forwardWeb, SEND_TIMEOUT, statusForError } from './forward.js';
import type { ClientRequestLike, ClientResponseLike, ForwardError, ForwardOptions } from './forward-types.js';
import { bodyFraming } from './message-fields.js';
import { forwardUpgrade, type UpgradeOutcome } from './upgrade.js';

/**
 * What happens to one request, in order: head check (one valid Host, a target that normalises:
 * else 400), ACME challenge (plain HTTP only), https-only redirect (plain HTTP only), route lookup
 * on the normalised path (404 when nothing declares it, 503 when its service has no running
 * container), forward (502/504 on upstream failure).
 */

/**
 * Retry-After of a 503 for a declared service without a running container: long enough not to
 * hammer, short enough that a client retries soon after Docker (restart policy) or a reload brings
 * the container back.
 */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

const ACME_PREFIX = '/.well-known/acme-challenge/';

export interface Traffic {
  /** requests and upgrades being forwarded right now */
  inFlight: number;
  /** requests and upgrades forwarded since the worker started: lets periodic work skip idle spells */
  started: number;
  draining: boolean;
  /** called whenever inFlight drops */
  onIdle: (() => void) | undefined;
  /** upgraded (WebSocket) client sockets, closed on drain */
  readonly upgraded: Set<Duplex>;
}

export function newTraffic(): Traffic {
  return { inFlight: 0, started: 0, draining: false, onIdle: undefined, upgraded: new Set() };
}

export interface HandlerDeps {
  state: ProxyState;
  pool: UpstreamPool;
  traffic: Traffic;
  /** access log; only used when settings.accessLog is on */
  log: Logger;
  tuning: TuningHooks;
  /** caps the warn lines for failed upstream exchanges (502/504), per service */
  upstreamErrors: KeyedLogLimiter;
  /** this worker's request counters (a route carries its service's; `unrouted` for the rest) */
  metrics: ProxyMetrics;
}

/** How this request is forwarded: the current settings' trust rule and timeouts, for a checked head. */
function forwardOptions(deps: HandlerDeps, head: RequestHead, tls: boolean): ForwardOptions {
  const settings = deps.state.settings;
  return { tls, host: head.authority, url: head.url, trusted: settings.trustForwardedHeaders, connectTimeoutMs: settings.connectTimeoutMs, upstreamTimeoutMs: settings.upstreamTimeoutMs, sendTimeoutMs: settings.sendTimeoutMs, tuning: deps.tuning };
}

/** At most 20 warn lines per second per service and worker for failed upstream exchanges; the rest are counted. */
export function newUpstreamErrorLimiter(): KeyedLogLimiter {
  return new KeyedLogLimiter(20, 1000);
}

/** A 502/504 the proxy made, at warn with its cause, so an operator sees why without the access log. */
function warnUpstreamFailure(deps: HandlerDeps, route: CompiledRoute, status: number, err: ForwardError, method: string | undefined, path: string, clientGotStatus: boolean): void {
  const { write, suppressedBefore } = deps.upstreamErrors.take(route.service);
  if (!write) return;
  deps.log.warn(
    {
      code: status === 504 ? 'PROXY_UPSTREAM_TIMEOUT' : 'PROXY_UPSTREAM_FAILED',
      service: route.service,
      upstream: route.upstreamKey,
      status,
      cause: err.code ?? 'unknown',
      method,
      path,
      ...(clientGotStatus ? {} : { aborted: true }),
      ...(suppressedBefore ? { suppressed: suppressedBefore } : {}),
    },
    `${route.service}: ${clientGotStatus ? `answered ${status}` : 'response cut short'}: ${err.message}`,
  );
}

function reply(res: ClientResponseLike, status: number, body: string, extra?: Record<string, string>): void {
  // a response that already started (or whose client is gone) cannot carry an error status:
  // cutting the connection is the only honest signal left
  if (res.headersSent || res.writableEnded || (res as { destroyed?: boolean }).destroyed) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra };
  try {
    // an upstream's reason phrase may be left from a head that failed to go out
    if (res instanceof ServerResponse) res.statusMessage = STATUS_CODES[status] ?? '';
    res.writeHead(status, headers);
    res.end(body);
  } catch {
    // an HTTP/2 stream closed between the check and the write
    res.destroy();
  }
}

const bodies: Record<number, string> = {
  400: 'Bad request: missing or invalid Host or request target\n',
  404: 'Not found: no service for this host and path\n',
  503: 'Service unavailable: the service for this host and path is not running\n',
  502: 'Bad gateway: the service is not reachable\n',
  504: 'Gateway timeout: the service did not answer in time\n',
};

function rawReply(socket: Duplex, status: number, reason: string, extra = '', text?: string): void {
  const body = text ?? bodies[status] ?? `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

export function redirectLocation(host: string, url: string, httpsPort: number): string {
  return `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${url.startsWith('/') ? url : `/${url}`}`;
}

/**
 * A response the proxy gives itself (ACME answer, redirect, 400, 404, 503): logged and counted like
 * forwarded ones; under its route's service when it has one.
 */
function answer(deps: HandlerDeps, req: ClientRequestLike, res: ClientResponseLike, host: string | undefined, status: number, body: string, extra?: Record<string, string>, reason?: string, route?: TableEntry): void {
  reply(res, status, body, extra);
  (route?.metrics ?? deps.metrics.unrouted).request(req.method, status);
  if (deps.state.settings.accessLog) deps.log.info({ host, path: req.url, method: req.method, status, ...(route ? { service: route.service } : {}), upstream: null, durationMs: 0, ...(reason ? { reason } : {}) }, 'access');
}

/**
 * A declared route whose service has no running container: 503 with Retry-After. Not an upstream
 * failure (nothing was tried), so no warn line: the orchestrator already logged why it is down.
 */
function unavailable(deps: HandlerDeps, req: ClientRequestLike, res: ClientResponseLike, host: string, route: UnavailableRoute): void {
  answer(deps, req, res, host, 503, bodies[503]!, { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) }, 'SERVICE_NOT_RUNNING', route);
}

/**
 * The status the client actually got, for the access log: the error status the proxy answered,
 * the upstream's status when the response was cut short after it started, or 499 (nginx's
 * "client closed request") when the client left before any response.
 */
function outcome(res: ClientResponseLike, delivered: boolean, errorStatus: number | undefined): { status: number; aborted: boolean } {
  if (errorStatus !== undefined) return { status: errorStatus, aborted: false };
  if (delivered) return { status: res.statusCode, aborted: false };
  return { status: res.headersSent ? res.statusCode : 499, aborted: true };
}

export function createRequestHandler(deps: HandlerDeps, tls: boolean) {
  const handle = (req: ClientRequestLike, res: ClientResponseLike): void => {
    const { state, traffic } = deps;
    const settings = state.settings;
    const head = checkHead(req.url ?? '', req.rawHeaders);
    if (!head.ok) {
      if (req.httpVersionMajor === 1) res.setHeader('connection', 'close');
      answer(deps, req, res, undefined, 400, bodies[400]!, undefined, head.reason);
      return;
    }
    const { host, url } = head;
    if (!tls && head.path.startsWith(ACME_PREFIX)) {
      const keyAuthorization = state.challenges.get(head.path.slice(ACME_PREFIX.length));
      if (keyAuthorization !== undefined) answer(deps, req, res, host, 200, keyAuthorization);
      else answer(deps, req, res, host, 404, 'Not found: unknown ACME challenge token\n');
      return;
    }
    if (traffic.draining && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    if (!tls && settings.strategy === 'https-only') {
      const location = redirectLocation(host, url, state.boundHttpsPort);
      answer(deps, req, res, host, 301, `Moved to ${location}\n`, { location });
      return;
    }
    const route = lookup(state.table, host, head.path);
    if (!route) {
      answer(deps, req, res, host, 404, bodies[404]!);
      return;
    }
    if (route.upstream === null) {
      unavailable(deps, req, res, host, route);
      return;
    }
    // HTTP/1.1: one forwarded request at a time per connection (pipeline.ts)
    const line = req.httpVersionMajor === 1 ? pipelineOf(req.socket as Socket) : undefined;
    const counters = route.metrics;
    const forward = (): void => {
      const started = performance.now();
      traffic.inFlight++;
      traffic.started++;
      counters.inFlight++;
      const body = watchBody(req, res, settings.bodyTimeoutMs);
      let settled = false;
      const settle = (err: ForwardError | undefined, delivered: boolean): void => {
        if (settled) return;
        settled = true;
        body?.stop();
        let errorStatus: number | undefined;
        if (err) {
          const status = statusForError(err);
          const before = res.headersSent;
          reply(res, status, bodies[status]!);
          if (!before) errorStatus = status;
          // a client that would not read is the client's doing, not the service's
          if (err.code !== SEND_TIMEOUT) {
            warnUpstreamFailure(deps, route, status, err, req.method, url, !before);
            counters.upstreamError(status);
          }
        }
        const { status, aborted } = outcome(res, delivered, errorStatus);
        const durationMs = performance.now() - started;
        counters.request(req.method, status);
        counters.duration(durationMs);
        counters.inFlight--;
        if (settings.accessLog) {
          deps.log.info(
            { host, path: url, method: req.method, status, service: route.service, upstream: route.upstreamKey, durationMs: Math.round(durationMs * 10) / 10, ...(aborted ? { aborted } : {}), ...(err ? { error: err.code ?? err.message } : body?.stalled ? { error: BODY_TIMEOUT } : {}) },
            'access',
          );
        }
        if (--traffic.inFlight === 0 && traffic.onIdle) traffic.onIdle();
        line?.next();
      };
      try {
        forwardWeb(req, res, route, deps.pool, forwardOptions(deps, head, tls), settle);
      } catch (err) {
        settle(Object.assign(err instanceof Error ? err : new Error(String(err)), { statusCode: 502 }) as ForwardError, false);
      }
    };
    if (!line) {
      forward();
      return;
    }
    const queued = line.submit({
      start: forward,
      cancel: () => {
        counters.request(req.method, 499);
        if (settings.accessLog) deps.log.info({ host, path: url, method: req.method, status: 499, aborted: true, service: route.service, upstream: route.upstreamKey, durationMs: 0 }, 'access');
      },
    });
    // more pipelined requests than any client needs in flight: not a client to serve
    if (!queued) req.socket.destroy();
  };
  // No exception on a request's path may take the worker (and every other connection on it) down.
  return function onRequest(req: ClientRequestLike, res: ClientResponseLike): void {
    try {
      handle(req, res);
    } catch (err) {
      deps.log.error({ code: 'PROXY_REQUEST_FAILED', err: (err as Error).message, path: req.url }, 'request failed inside the proxy');
      reply(res, 502, bodies[502]!);
      deps.metrics.unrouted.request(req.method, 502);
    }
  };
}

/** Only WebSocket upgrades are passed through (RFC 6455: a GET). */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.upgrade?.toLowerCase() === 'websocket';
}

/**
 * Node hands every request that offers `Upgrade` to the upgrade handler. Any upgrade other than
 * WebSocket (`Upgrade: h2c` from `curl --http2`, a POST offering websocket) is ignored, as nginx
 * and Caddy ignore it, and the request is answered as the plain request it also is (its
 * `Upgrade` and `Connection` are hop-by-hop and do not go upstream). Node took the connection off
 * its HTTP parser for the upgrade, so it closes after this answer; a body could not be read from
 * it, so such a request with a body is refused.
 */
function serveWithoutUpgrade(req: IncomingMessage, socket: Duplex, onRequest: (req: IncomingMessage, res: ServerResponse) => void): void {
  if (bodyFraming(req) !== 'none') {
    rawReply(socket, 400, 'Bad Request', '', 'Bad request: a request body together with an Upgrade offer other than WebSocket is not supported\n');
    return;
  }
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  res.once('close', () => socket.destroy());
  onRequest(req, res);
}

export function createUpgradeHandler(deps: HandlerDeps, tls: boolean, onRequest: (req: IncomingMessage, res: ServerResponse) => void) {
  return function onUpgrade(req: IncomingMessage, socket: Duplex, bodyHead: Buffer): void {
    const { state, traffic } = deps;
    const settings = state.settings;
    socket.on('error', () => socket.destroy());
    if (!isWebSocketUpgrade(req)) {
      serveWithoutUpgrade(req, socket, onRequest);
      return;
    }
    const unrouted = deps.metrics.unrouted;
    if (traffic.draining) {
      rawReply(socket, 503, 'Service Unavailable');
      unrouted.request(req.method, 503);
      return;
    }
    const head = checkHead(req.url ?? '', req.rawHeaders);
    if (!head.ok) {
      rawReply(socket, 400, 'Bad Request');
      unrouted.request(req.method, 400);
      return;
    }
    const host = head.host;
    if (!tls && settings.strategy === 'https-only') {
      rawReply(socket, 301, 'Moved Permanently', `location: ${redirectLocation(host, head.url, state.boundHttpsPort)}\r\n`);
      unrouted.request(req.method, 301);
      return;
    }
    const route = lookup(state.table, host, head.path);
    if (!route) {
      rawReply(socket, 404, 'Not Found');
      unrouted.request(req.method, 404);
      return;
    }
    const counters = route.metrics;
    if (route.upstream === null) {
      rawReply(socket, 503, 'Service Unavailable', `retry-after: ${UNAVAILABLE_RETRY_AFTER_S}\r\n`);
      counters.request(req.method, 503);
      if (settings.accessLog) deps.log.info({ host, path: head.url, method: req.method, status: 503, service: route.service, upstream: null, durationMs: 0, reason: 'SERVICE_NOT_RUNNING' }, 'access');
      return;
    }
    traffic.inFlight++;
    traffic.started++;
    counters.inFlight++;
    traffic.upgraded.add(socket);
    const started = performance.now();
    forwardUpgrade(
      req,
      socket,
      bodyHead,
      route,
      forwardOptions(deps, head, tls),
      (err: ForwardError | undefined, { upgraded, refusedWith }: UpgradeOutcome) => {
        traffic.upgraded.delete(socket);
        if (err && !upgraded && refusedWith === undefined && socket.writable) {
          const status = statusForError(err);
          rawReply(socket, status, status === 504 ? 'Gateway Timeout' : 'Bad Gateway');
        } else {
          socket.destroy();
        }
        if (err && !upgraded) {
          warnUpstreamFailure(deps, route, statusForError(err), err, req.method, head.url, true);
          counters.upstreamError(statusForError(err));
        }
        const status = upgraded ? 101 : refusedWith ?? (err ? statusForError(err) : 499);
        // counted, but kept out of the duration histogram: a WebSocket's lifetime is no latency
        counters.request(req.method, status);
        counters.inFlight--;
        if (settings.accessLog) {
          deps.log.info({ host, path: head.url, method: req.method, status, service: route.service, upstream: route.upstreamKey, durationMs: Math.round(performance.now() - started) }, 'access');
        }
        if (--traffic.inFlight === 0 && traffic.onIdle) traffic.onIdle();
      },
    );
  };
}
