import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@dispenser/shared/log';
import { lookup, normalizeHost } from './table.js';
import type { ProxyState } from './state.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { ScavengePacer } from './scavenge-pacer.js';
import { BODY_TIMEOUT, watchBody } from './body-timeout.js';
import { forwardUpgrade, forwardWeb, statusForError, type ClientRequestLike, type ClientResponseLike, type ForwardError, type ForwardOptions } from './forward.js';

/**
 * What happens to one request, in order: ACME challenge (plain HTTP only, before anything else),
 * https-only redirect (plain HTTP only), route lookup (404), forward (502/504 on upstream failure).
 */

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
  scavenges: ScavengePacer;
}

function hostOf(req: ClientRequestLike): string | undefined {
  return (req.headers[':authority'] as string | undefined) ?? req.headers.host;
}

/** How this request is forwarded: the current settings' trust rule and timeouts, for a route already found (so Host is set). */
function forwardOptions(deps: HandlerDeps, req: ClientRequestLike, tls: boolean): ForwardOptions {
  const settings = deps.state.settings;
  return { tls, host: hostOf(req)!, trusted: settings.trustForwardedHeaders, connectTimeoutMs: settings.connectTimeoutMs, upstreamTimeoutMs: settings.upstreamTimeoutMs, scavenges: deps.scavenges };
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
    res.writeHead(status, headers);
    res.end(body);
  } catch {
    // an HTTP/2 stream closed between the check and the write
    res.destroy();
  }
}

const bodies: Record<number, string> = {
  400: 'Bad request: missing or invalid Host\n',
  404: 'Not found: no service for this host and path\n',
  502: 'Bad gateway: the service is not reachable\n',
  504: 'Gateway timeout: the service did not answer in time\n',
};

function rawReply(socket: Duplex, status: number, reason: string, extra = ''): void {
  const body = bodies[status] ?? `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

export function redirectLocation(host: string, url: string, httpsPort: number): string {
  return `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${url.startsWith('/') ? url : `/${url}`}`;
}

/** A response the proxy gives itself (ACME answer, redirect, 400, 404): logged like forwarded ones. */
function answer(deps: HandlerDeps, req: ClientRequestLike, res: ClientResponseLike, host: string | undefined, status: number, body: string, extra?: Record<string, string>): void {
  reply(res, status, body, extra);
  if (deps.state.settings.accessLog) deps.log.info({ host, path: req.url, method: req.method, status, upstream: null, durationMs: 0 }, 'access');
}

export function createRequestHandler(deps: HandlerDeps, tls: boolean) {
  return function onRequest(req: ClientRequestLike, res: ClientResponseLike): void {
    const { state, traffic } = deps;
    const settings = state.settings;
    const url = req.url ?? '/';
    if (!tls && url.startsWith(ACME_PREFIX)) {
      const keyAuthorization = state.challenges.get(url.slice(ACME_PREFIX.length).split('?')[0]!);
      if (keyAuthorization !== undefined) answer(deps, req, res, hostOf(req), 200, keyAuthorization);
      else answer(deps, req, res, hostOf(req), 404, 'Not found: unknown ACME challenge token\n');
      return;
    }
    const host = normalizeHost(hostOf(req));
    if (host === undefined) {
      answer(deps, req, res, undefined, 400, bodies[400]!);
      return;
    }
    if (traffic.draining && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    if (!tls && settings.strategy === 'https-only') {
      const location = redirectLocation(host, url, state.boundHttpsPort);
      answer(deps, req, res, host, 301, `Moved to ${location}\n`, { location });
      return;
    }
    const route = lookup(state.table, host, url);
    if (!route) {
      answer(deps, req, res, host, 404, bodies[404]!);
      return;
    }
    const started = settings.accessLog ? performance.now() : 0;
    traffic.inFlight++;
    traffic.started++;
    const body = watchBody(req, res, settings.bodyTimeoutMs);
    forwardWeb(
      req,
      res,
      route,
      deps.pool,
      forwardOptions(deps, req, tls),
      (err) => {
        body?.stop();
        let status = res.statusCode;
        if (err) {
          status = statusForError(err);
          reply(res, status, bodies[status]!);
        }
        if (settings.accessLog) {
          deps.log.info(
            { host, path: url, method: req.method, status, service: route.service, upstream: route.upstreamKey, durationMs: Math.round((performance.now() - started) * 10) / 10, ...(err ? { error: err.code ?? err.message } : body?.stalled ? { error: BODY_TIMEOUT } : {}) },
            'access',
          );
        }
        if (--traffic.inFlight === 0 && traffic.onIdle) traffic.onIdle();
      },
    );
  };
}

export function createUpgradeHandler(deps: HandlerDeps, tls: boolean) {
  return function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { state, traffic } = deps;
    const settings = state.settings;
    socket.on('error', () => socket.destroy());
    if (traffic.draining) {
      rawReply(socket, 503, 'Service Unavailable');
      return;
    }
    const host = normalizeHost(hostOf(req));
    if (host === undefined) {
      rawReply(socket, 400, 'Bad Request');
      return;
    }
    if (!tls && settings.strategy === 'https-only') {
      rawReply(socket, 301, 'Moved Permanently', `location: ${redirectLocation(host, req.url ?? '/', state.boundHttpsPort)}\r\n`);
      return;
    }
    const route = lookup(state.table, host, req.url ?? '/');
    if (!route) {
      rawReply(socket, 404, 'Not Found');
      return;
    }
    traffic.inFlight++;
    traffic.started++;
    traffic.upgraded.add(socket);
    const started = performance.now();
    forwardUpgrade(
      req,
      socket,
      head,
      route,
      forwardOptions(deps, req, tls),
      (err: ForwardError | undefined, upgraded: boolean) => {
        traffic.upgraded.delete(socket);
        if (err && !upgraded && socket.writable) {
          const status = statusForError(err);
          rawReply(socket, status, status === 504 ? 'Gateway Timeout' : 'Bad Gateway');
        } else {
          socket.destroy();
        }
        if (settings.accessLog) {
          deps.log.info({ host, path: req.url, method: req.method, status: upgraded ? 101 : err ? statusForError(err) : 0, service: route.service, upstream: route.upstreamKey, durationMs: Math.round(performance.now() - started) }, 'access');
        }
        if (--traffic.inFlight === 0 && traffic.onIdle) traffic.onIdle();
      },
    );
  };
}
