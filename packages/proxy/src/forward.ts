import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import h2proxyModule from 'http2-proxy';
import type { CompiledRoute } from './table.js';
import type { UpstreamPool } from './upstream-pool.js';
import { applyForwardHeaders, clientAddress } from './headers.js';

export type ClientRequestLike = IncomingMessage | Http2ServerRequest;
export type ClientResponseLike = ServerResponse | Http2ServerResponse;

export interface ForwardOptions {
  tls: boolean;
  host: string;
  trusted: boolean;
  connectTimeoutMs: number;
  upstreamTimeoutMs: number;
}

/** What went wrong talking to the upstream, as the status the client gets. */
export interface ForwardError extends Error {
  code?: string;
  statusCode?: number;
  reusedSocket?: boolean;
}

/** The part of http2-proxy used here, typed honestly (its bundled types want async onReq overloads). */
interface ProxyOptions {
  hostname: string;
  port: number;
  onReq: (req: IncomingMessage, ureq: RequestOptions) => Promise<ClientRequest>;
}
interface Http2Proxy {
  web(req: ClientRequestLike, res: ClientResponseLike, options: ProxyOptions, callback: (err: ForwardError | null) => void): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, options: ProxyOptions, callback: (err: ForwardError | null) => void): void;
}
const h2proxy = h2proxyModule as unknown as Http2Proxy;

export const CONNECT_TIMEOUT = 'DISPENSER_UPSTREAM_CONNECT_TIMEOUT';

/** 504 for an upstream that accepted but did not answer in time; 502 for everything else. */
export function statusForError(err: ForwardError): 502 | 504 {
  return err.code === 'ETIMEDOUT' && err.statusCode === 504 ? 504 : 502;
}

function upstreamRequest(
  req: ClientRequestLike,
  ureq: RequestOptions,
  route: CompiledRoute,
  pool: UpstreamPool | undefined,
  opts: ForwardOptions,
): ClientRequest {
  const headers = ureq.headers as Record<string, string | string[] | undefined>;
  // http2-proxy appended its own RFC 7239 entry; the trust rules decide what goes upstream
  const clientForwarded = req.headers['forwarded'];
  if (clientForwarded === undefined) delete headers['forwarded'];
  else headers['forwarded'] = clientForwarded;
  headers['host'] = opts.host;
  applyForwardHeaders(headers, {
    peer: clientAddress(req.socket.remoteAddress),
    proto: opts.tls ? 'https' : 'http',
    host: opts.host,
    trusted: opts.trusted,
  });
  const options: RequestOptions & { servername: string } = {
    method: ureq.method,
    path: ureq.path,
    headers,
    host: route.upstream.host,
    port: route.upstream.port,
    agent: pool ? pool.agentFor(route.upstreamKey) : false,
    timeout: opts.upstreamTimeoutMs > 0 ? opts.upstreamTimeoutMs : undefined,
    // plain HTTP upstream: skip the agent's per-request TLS server-name computation
    servername: '',
  };
  const creq = httpRequest(options);
  if (opts.connectTimeoutMs > 0) {
    creq.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        const err: ForwardError = new Error(`upstream ${route.upstreamKey} did not accept a connection within ${opts.connectTimeoutMs} ms`);
        err.code = CONNECT_TIMEOUT;
        creq.destroy(err);
      }, opts.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      creq.once('close', () => clearTimeout(timer));
    });
  }
  return creq;
}

/**
 * Forwards one request with http2-proxy. Resolves when the exchange is over (response finished,
 * client gone, or upstream failed); `done` gets the error if the upstream failed. Bodies stream
 * both ways; a client that goes away aborts the upstream request (http2-proxy destroys it).
 */
export function forwardWeb(
  req: ClientRequestLike,
  res: ClientResponseLike,
  route: CompiledRoute,
  pool: UpstreamPool,
  opts: ForwardOptions,
  done: (err: ForwardError | undefined) => void,
): void {
  let retried = false;
  const attempt = (): void => {
    h2proxy.web(
      req,
      res,
      {
        hostname: route.upstream.host,
        port: route.upstream.port,
        onReq: async (r: IncomingMessage, ureq: RequestOptions) => upstreamRequest(r, ureq, route, pool, opts),
      },
      (err: ForwardError | null) => {
        // A keep-alive socket the upstream closed just as we reused it: safe to retry once for a
        // request without a body, before anything was sent to the client.
        if (err && err.reusedSocket && !retried && !res.headersSent && (req.method === 'GET' || req.method === 'HEAD')) {
          retried = true;
          attempt();
          return;
        }
        done(err ?? undefined);
      },
    );
  };
  attempt();
}

/** Forwards a WebSocket upgrade (HTTP/1.1) on its own upstream connection. */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  route: CompiledRoute,
  opts: ForwardOptions,
  done: (err: ForwardError | undefined, upgraded: boolean) => void,
): void {
  let upgraded = false;
  h2proxy.ws(
    req,
    socket,
    head,
    {
      hostname: route.upstream.host,
      port: route.upstream.port,
      // an upgraded connection would leave the keep-alive pool anyway: give it its own socket
      onReq: async (r: IncomingMessage, ureq: RequestOptions) => {
        const creq = upstreamRequest(r, ureq, route, undefined, opts);
        creq.once('upgrade', () => (upgraded = true));
        return creq;
      },
    },
    (err: ForwardError | null) => done(err ?? undefined, upgraded),
  );
}
