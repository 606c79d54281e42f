import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import h2proxyModule from 'http2-proxy';
import type { CompiledRoute } from './table.js';
import type { UpstreamPool } from './upstream-pool.js';
import { applyForwardHeaders, clientAddress } from './headers.js';
import { quickAck } from './quick-ack.js';
import { HSTS, withHsts } from './hsts.js';
import type { ScavengePacer } from './scavenge-pacer.js';

export type ClientRequestLike = IncomingMessage | Http2ServerRequest;
export type ClientResponseLike = ServerResponse | Http2ServerResponse;

export interface ForwardOptions {
  tls: boolean;
  host: string;
  trusted: boolean;
  connectTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** counts forwarded body bytes toward the next scavenge (WebSocket traffic is not counted) */
  scavenges?: ScavengePacer;
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

/** The upgrade request http2-proxy prepared, with the trust rules' headers, on its own connection. */
function upgradeRequest(req: ClientRequestLike, ureq: RequestOptions, route: CompiledRoute, opts: ForwardOptions): ClientRequest {
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
  return openUpstream(ureq.method, ureq.path, headers, route, false, opts);
}

/** The request to the upstream, with the upstream (idle) timeout and the connect timeout armed. */
function openUpstream(method: string | undefined, path: string | null | undefined, headers: RequestOptions['headers'], route: CompiledRoute, agent: Agent | false, opts: ForwardOptions): ClientRequest {
  const options: RequestOptions & { servername: string } = {
    method,
    path,
    headers,
    host: route.upstream.host,
    port: route.upstream.port,
    agent,
    timeout: opts.upstreamTimeoutMs > 0 ? opts.upstreamTimeoutMs : undefined,
    // plain HTTP upstream: skip the agent's per-request TLS server-name computation
    servername: '',
  };
  const creq = httpRequest(options);
  if (opts.connectTimeoutMs > 0) {
    creq.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => creq.destroy(upstreamError(`upstream ${route.upstreamKey} did not accept a connection within ${opts.connectTimeoutMs} ms`, CONNECT_TIMEOUT, 502)), opts.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      creq.once('close', () => clearTimeout(timer));
    });
  }
  return creq;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the HTTP/2 and proxy ones): never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Header names listed in a `Connection` value (also hop-by-hop), lower-cased. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).toLowerCase().split(',')) {
    const name = part.trim();
    if (name && name !== 'host') tokens.add(name);
  }
  return tokens.size ? tokens : undefined;
}

/**
 * The upstream request's headers as a flat [name, value, ...] list, which http.request writes
 * as they are (one validation pass) instead of going through setHeader() for each.
 */
export function upstreamHeaderList(req: ClientRequestLike, opts: ForwardOptions): string[] {
  const src = req.headers as Record<string, string | string[] | undefined>;
  const listed = connectionTokens(src['connection']);
  const headers: Record<string, string | string[] | undefined> = { host: opts.host };
  for (const key in src) {
    // HTTP/2 pseudo-headers (:authority, :path...) are not HTTP/1.1 headers
    if (key.charCodeAt(0) === 58 || key === 'host' || HOP_BY_HOP.has(key) || listed?.has(key)) continue;
    headers[key] = src[key];
  }
  applyForwardHeaders(headers, { peer: clientAddress(req.socket?.remoteAddress), proto: opts.tls ? 'https' : 'http', host: opts.host, trusted: opts.trusted });
  const list: string[] = [];
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push(key, v);
    else list.push(key, value);
  }
  return list;
}

/** Response headers for an HTTP/1.1 client: the upstream's raw list minus hop-by-hop ones. */
function responseHeaderList(raw: readonly string[]): string[] {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') listed = connectionTokens(raw[i + 1]);
  }
  const list: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    list.push(raw[i]!, raw[i + 1]!);
  }
  return list;
}

/** Response headers for an HTTP/2 client (which rejects connection-specific ones). */
function responseHeaderObject(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const listed = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP.has(key) || listed?.has(key)) continue;
    out[key] = value;
  }
  return out;
}

function upstreamError(message: string, code: string, statusCode: number): ForwardError {
  const err: ForwardError = new Error(message);
  err.code = code;
  err.statusCode = statusCode;
  return err;
}

/** Bytes of response body queued for an HTTP/1.1 client before the upstream is paused: two reads' worth. */
const H1_QUEUE_LIMIT = 128 * 1024;

const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Runs after the read that delivered a response's head (a nextTick: the parser has consumed the
 * whole read by then). A response that did not end in that read spans several TCP segments, and
 * a backend with Nagle's algorithm on holds back its last short one until we acknowledge the
 * rest, which Linux delays by up to 40 ms on a keep-alive connection: acknowledge now. A response
 * that ended in one read costs nothing extra (no syscall, no bare ACK packet).
 */
function ackIfIncomplete(response: IncomingMessage): void {
  if (!response.complete && !response.destroyed) quickAck?.(response.socket);
}

/**
 * One request/response exchange with the upstream, written against node:http directly: this is
 * the hot path, and a generic proxy library's promise chains, header copies and pipe() set-up
 * were a measurable share of each request's CPU (see the README, Reverse proxy / Benchmark). `done` is called
 * exactly once: when the response to the client has finished, when the client went away (the
 * upstream request is then destroyed), or with the error when the upstream failed.
 */
function exchange(req: ClientRequestLike, res: ClientResponseLike, route: CompiledRoute, pool: UpstreamPool, opts: ForwardOptions, done: (err: ForwardError | undefined, creq: ClientRequest) => void): void {
  const creq = openUpstream(req.method, req.url, upstreamHeaderList(req, opts), route, pool.agentFor(route.upstreamKey), opts);
  let finished = false;
  let ures: IncomingMessage | undefined;
  const scavenges = opts.scavenges;
  const h1 = req.httpVersionMajor === 1;

  const complete = (err: ForwardError | undefined): void => {
    if (finished) return;
    finished = true;
    // the client went away or something failed before the upstream response ended: stop it
    if (!ures || !ures.complete) creq.destroy();
    done(err, creq);
  };
  const onResDrain = (): void => {
    ures?.resume();
  };

  // an error after completion (a socket torn down by destroy()) must still have a listener
  creq.on('error', (err: ForwardError) => complete(err));
  creq.on('timeout', () => complete(upstreamError(`upstream ${route.upstreamKey} sent nothing for ${opts.upstreamTimeoutMs} ms`, 'ETIMEDOUT', 504)));
  creq.on('response', (response: IncomingMessage) => {
    ures = response;
    if (finished) {
      response.destroy();
      return;
    }
    if (quickAck) process.nextTick(ackIfIncomplete, response);
    const status = response.statusCode ?? 502;
    const hsts = opts.tls ? route.hsts : undefined;
    try {
      if (h1 && !res.hasHeader('connection')) {
        const list = responseHeaderList(response.rawHeaders);
        (res as ServerResponse).writeHead(status, hsts === undefined ? list : withHsts(list, hsts));
      } else {
        const headers = responseHeaderObject(response.headers);
        for (const key in headers) res.setHeader(key, headers[key]!);
        if (hsts !== undefined && headers[HSTS] === undefined) res.setHeader(HSTS, hsts);
        res.statusCode = status;
      }
    } catch (err) {
      // a header HTTP/1.1 parsed but this response cannot carry (e.g. a value HTTP/2 forbids)
      complete(upstreamError(`upstream ${route.upstreamKey} sent a response header the client side cannot carry: ${(err as Error).message}`, 'EBADHEADER', 502));
      return;
    }
    const out = res as ServerResponse;
    if (h1) {
      // One loop turn's chunks go out in one writev: a body is usually read as a full 64 KB
      // buffer plus a short tail, and writing them apart costs a syscall and a TCP segment
      // (processed by the receiver too, on loopback in this process's time) per response.
      // end() uncorks fully, so a body that ends in this turn leaves in one write. Backpressure
      // is by bytes queued, not write()'s return value, which is false for any chunk above the
      // socket's 16 KB high-water mark even when the kernel took it whole.
      let corked = false;
      const uncork = (): void => {
        corked = false;
        out.uncork();
      };
      response.on('data', (chunk: Buffer) => {
        scavenges?.add(chunk.length);
        if (!corked) {
          corked = true;
          out.cork();
          setImmediate(uncork);
        }
        out.write(chunk);
        if (out.writableLength >= H1_QUEUE_LIMIT) response.pause();
      });
    } else {
      response.on('data', (chunk: Buffer) => {
        scavenges?.add(chunk.length);
        if (!out.write(chunk)) response.pause();
      });
    }
    response.on('end', () => {
      const trailers = response.trailers;
      for (const _ in trailers) {
        res.addTrailers(trailers);
        break;
      }
      res.end();
    });
    response.on('aborted', () => complete(upstreamError(`upstream ${route.upstreamKey} closed the connection mid-response`, 'ECONNRESET', 502)));
    response.on('error', (err: ForwardError) => complete(err));
    res.on('drain', onResDrain);
  });

  res.on('finish', () => complete(undefined));
  res.on('close', () => complete(undefined));
  res.on('error', (err: ForwardError) => complete(err));
  req.on('error', (err: ForwardError) => complete(err));

  if (BODYLESS_METHODS.has(req.method ?? 'GET')) {
    // a body on these methods has no defined meaning: drop it, as before
    req.resume();
    creq.end();
  } else {
    req.on('data', (chunk: Buffer) => {
      scavenges?.add(chunk.length);
      if (!creq.write(chunk)) req.pause();
    });
    creq.on('drain', () => req.resume());
    req.on('end', () => creq.end());
  }
}

/**
 * Forwards one request. `done` is called once the exchange is over (response finished, client
 * gone, or upstream failed), with the error if the upstream failed. Bodies stream both ways; a
 * client that goes away aborts the upstream request.
 */
export function forwardWeb(
  req: ClientRequestLike,
  res: ClientResponseLike,
  route: CompiledRoute,
  pool: UpstreamPool,
  opts: ForwardOptions,
  done: (err: ForwardError | undefined) => void,
): void {
  if ((req as { aborted?: boolean }).aborted || res.destroyed) {
    done(undefined);
    return;
  }
  exchange(req, res, route, pool, opts, (err, creq) => {
    // A keep-alive socket the upstream closed just as we reused it: safe to retry once for a
    // request without a body, before anything was sent to the client.
    if (err && creq.reusedSocket && !res.headersSent && !res.destroyed && (req.method === 'GET' || req.method === 'HEAD')) {
      exchange(req, res, route, pool, opts, (err2) => done(err2));
      return;
    }
    done(err);
  });
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
        const creq = upgradeRequest(r, ureq, route, opts);
        creq.once('upgrade', () => (upgraded = true));
        return creq;
      },
    },
    (err: ForwardError | null) => done(err ?? undefined, upgraded),
  );
}
