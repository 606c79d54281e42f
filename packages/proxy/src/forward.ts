import { request as httpRequest, STATUS_CODES, validateHeaderName, type Agent, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import h2proxyModule from 'http2-proxy';
import type { CompiledRoute } from './table.js';
import type { UpstreamPool } from './upstream-pool.js';
import { applyForwardHeaders, clientAddress, isClientForwardingHeader } from './headers.js';
import { quickAck } from './quick-ack.js';
import { HSTS, withHsts } from './hsts.js';
import type { ScavengePacer } from './scavenge-pacer.js';

export type ClientRequestLike = IncomingMessage | Http2ServerRequest;
export type ClientResponseLike = ServerResponse | Http2ServerResponse;

export interface ForwardOptions {
  tls: boolean;
  /** the validated authority the client asked for (Host, :authority or absolute-form): the upstream's Host */
  host: string;
  /** the normalised origin-form target the route matched: what the upstream is asked for */
  url: string;
  trusted: boolean;
  connectTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** a client that takes nothing of a response ready for it this long is dropped; 0 = never */
  sendTimeoutMs: number;
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
  /** called instead of http2-proxy's own relay for a response that is not an upgrade */
  onRes?: (req: IncomingMessage, res: unknown, ures: IncomingMessage) => Promise<void>;
}
interface Http2Proxy {
  web(req: ClientRequestLike, res: ClientResponseLike, options: ProxyOptions, callback: (err: ForwardError | null) => void): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, options: ProxyOptions, callback: (err: ForwardError | null) => void): void;
}
const h2proxy = h2proxyModule as unknown as Http2Proxy;

export const CONNECT_TIMEOUT = 'DISPENSER_UPSTREAM_CONNECT_TIMEOUT';
/** the client took nothing of a response ready for it for send_timeout */
export const SEND_TIMEOUT = 'DISPENSER_SEND_TIMEOUT';

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
  for (const key in headers) if (isClientForwardingHeader(key, opts.trusted)) delete headers[key];
  headers['host'] = opts.host;
  applyForwardHeaders(headers, {
    peer: clientAddress(req.socket.remoteAddress),
    proto: opts.tls ? 'https' : 'http',
    host: opts.host,
    trusted: opts.trusted,
  });
  return openUpstream(ureq.method, opts.url, headers, route, false, opts);
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
    // Response header lines ending in a bare LF (legacy CGI, busybox httpd) are allowed by RFC 9112
    // §2.2 and served by nginx and Caddy. Node's only switch for that is its lenient parser, so
    // responses whose framing it would otherwise have refused never leave their connection in
    // the pool (see framingInDoubt). Requests from clients stay strictly parsed.
    insecureHTTPParser: true,
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

/**
 * Fields a trailer section must not carry (RFC 9110 §6.5.1: framing, routing, authentication,
 * response controls and content format are decided before the content), on top of hop-by-hop
 * ones, which an HTTP/2 client's stream refuses outright.
 */
const NOT_IN_TRAILERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'host', 'content-length', 'content-type', 'content-encoding', 'content-range', 'set-cookie', 'authorization', 'www-authenticate',
  'cache-control', 'expires', 'age', 'location', 'retry-after', 'vary', 'date', 'expect', 'max-forwards', 'range', 'if-match', 'if-none-match',
]);

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
export function upstreamHeaderList(req: ClientRequestLike, opts: ForwardOptions, framing: BodyFraming = 'none'): string[] {
  const src = req.headers as Record<string, string | string[] | undefined>;
  const listed = connectionTokens(src['connection']);
  const headers: Record<string, string | string[] | undefined> = { host: opts.host };
  for (const key in src) {
    // HTTP/2 pseudo-headers (:authority, :path...) are not HTTP/1.1 headers
    // the body's framing is decided below, never by what a Connection header names
    if (key.charCodeAt(0) === 58 || key === 'host' || key === 'content-length' || HOP_BY_HOP.has(key) || listed?.has(key) || isClientForwardingHeader(key, opts.trusted)) continue;
    headers[key] = src[key];
  }
  if (framing === 'length' || src['content-length'] === '0') headers['content-length'] = src['content-length'];
  else if (framing === 'chunked') headers['transfer-encoding'] = 'chunked';
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

/** A field value either protocol can carry (the lenient upstream parser lets control characters through). */
const VALID_FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The trailers worth passing on, lower-cased, a field sent more than once joined into one value
 * (an HTTP/2 stream refuses repeats of its single-value fields, and throws where no handler of
 * ours can catch it); empty when there are none.
 */
export function trailerFields(raw: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (lower.charCodeAt(0) === 58 || NOT_IN_TRAILERS.has(lower) || !VALID_FIELD_VALUE.test(value)) continue;
    const prev = fields.get(lower);
    fields.set(lower, prev === undefined ? value : `${prev}, ${value}`);
  }
  return fields;
}

/**
 * How the request body travels upstream. Every method's body is forwarded with its framing
 * (a Content-Length is sent only with the body it counts): dropping a body while its length
 * still went upstream let the body be read as the next pooled request (request smuggling).
 * - 'length': the client sent Content-Length, which goes upstream unchanged;
 * - 'chunked': HTTP/1.1 chunked, or an HTTP/2 body without Content-Length: re-chunked upstream;
 * - 'none': no body at all.
 */
export type BodyFraming = 'none' | 'length' | 'chunked';

export function bodyFraming(req: ClientRequestLike): BodyFraming {
  const length = req.headers['content-length'];
  if (length !== undefined) return length === '0' ? 'none' : 'length';
  if (req.httpVersionMajor === 1) return req.headers['transfer-encoding'] !== undefined ? 'chunked' : 'none';
  return (req as Http2ServerRequest).stream.endAfterHeaders ? 'none' : 'chunked';
}

/**
 * True when a response's own framing is ambiguous (Content-Length beside Transfer-Encoding, or
 * several lengths): the lenient parser picked one reading, the upstream may have meant the
 * other, so the connection must not carry another request.
 */
export function framingInDoubt(raw: readonly string[]): boolean {
  let lengths = 0;
  let encodings = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') lengths++;
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') encodings++;
  }
  return lengths > 1 || (lengths > 0 && encodings > 0);
}

/** Response headers for an HTTP/1.1 client: the upstream's raw list minus hop-by-hop ones. */
function responseHeaderList(raw: readonly string[], dropLength: boolean): string[] {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') listed = connectionTokens(raw[i + 1]);
  }
  const list: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) || (dropLength && lower === 'content-length')) continue;
    list.push(raw[i]!, raw[i + 1]!);
  }
  return list;
}

/** Response headers for an HTTP/2 client (which rejects connection-specific ones). */
function responseHeaderObject(headers: IncomingMessage['headers'], dropLength: boolean): Record<string, string | string[]> {
  const listed = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP.has(key) || listed?.has(key) || (dropLength && key === 'content-length')) continue;
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
 * were a measurable share of each request's CPU (see docs/internals/proxy-performance.md, change 1). `done` is called
 * exactly once: when the response to the client has finished, when the client went away (the
 * upstream request is then destroyed), or with the error when the upstream failed. Every event
 * handler here is guarded: whatever throws becomes this request's error, never the worker's.
 */
function exchange(req: ClientRequestLike, res: ClientResponseLike, route: CompiledRoute, pool: UpstreamPool, opts: ForwardOptions, framing: BodyFraming, done: ExchangeDone): void {
  const creq = openUpstream(req.method, opts.url, upstreamHeaderList(req, opts, framing), route, pool.agentFor(route.upstreamKey), opts);
  let finished = false;
  let delivered = false;
  let ures: IncomingMessage | undefined;
  const scavenges = opts.scavenges;
  const h1 = req.httpVersionMajor === 1;

  const complete = (err: ForwardError | undefined): void => {
    if (finished) return;
    finished = true;
    if (sendTimer) clearTimeout(sendTimer);
    // The upstream connection goes back to the pool only after a whole response to a wholly
    // sent request; anything less (client gone, early response to an unfinished upload, an
    // error) leaves its framing in doubt: close it.
    if (!ures || !ures.complete || !creq.writableFinished) creq.destroy();
    done(err, creq, delivered);
  };
  const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      complete(upstreamError(`request to ${route.upstreamKey} failed in the proxy: ${(err as Error).message}`, (err as ForwardError).code ?? 'EPROXY', 502));
    }
  };
  // The client not reading (a full socket buffer, an HTTP/2 window held at 0) pauses the upstream;
  // for longer than send_timeout it is a client holding the exchange open, not a slow network.
  let sendTimer: NodeJS.Timeout | undefined;
  const holdForClient = (): void => {
    ures?.pause();
    if (opts.sendTimeoutMs > 0 && !sendTimer) {
      sendTimer = setTimeout(() => {
        complete(upstreamError(`the client took nothing of the response for ${opts.sendTimeoutMs} ms`, SEND_TIMEOUT, 502));
        res.destroy();
      }, opts.sendTimeoutMs);
    }
  };
  const onResDrain = (): void => {
    if (sendTimer) {
      clearTimeout(sendTimer);
      sendTimer = undefined;
    }
    ures?.resume();
  };

  // an error after completion (a socket torn down by destroy()) must still have a listener
  creq.on('error', (err: ForwardError) => {
    // bytes after a complete response (a body sent with a HEAD answer or a 204, junk after the
    // last chunk): Node drops that connection, and the response itself stands
    if (ures?.complete) return;
    complete(err);
  });
  creq.on('timeout', () => complete(upstreamError(`upstream ${route.upstreamKey} sent nothing for ${opts.upstreamTimeoutMs} ms`, 'ETIMEDOUT', 504)));
  // 101 to a request that asked for no upgrade: the connection now speaks something else
  creq.on('upgrade', (_res: IncomingMessage, socket: Duplex) => {
    socket.destroy();
    complete(upstreamError(`upstream ${route.upstreamKey} switched protocols (101) on a request that did not ask to`, 'EUNEXPECTED_UPGRADE', 502));
  });
  creq.on('response', guard((response: IncomingMessage) => {
    ures = response;
    if (finished) {
      response.destroy();
      return;
    }
    // the parser read the body one way (chunked wins over a length); the client must not be told the other
    const doubt = framingInDoubt(response.rawHeaders);
    if (doubt) (creq as ClientRequest & { shouldKeepAlive: boolean }).shouldKeepAlive = false;
    if (quickAck) process.nextTick(ackIfIncomplete, response);
    const status = response.statusCode ?? 502;
    // a 1xx that reaches here is a 101 without an Upgrade header: the connection may speak
    // something else now; a status outside 200-599 is no answer a client can rely on
    if (status < 200 || status > 599) {
      complete(upstreamError(`upstream ${route.upstreamKey} answered with status ${status} to a request that asked for no upgrade`, status === 101 ? 'EUNEXPECTED_UPGRADE' : 'EBADSTATUS', 502));
      return;
    }
    const hsts = opts.tls ? route.hsts : undefined;
    try {
      if (h1 && !res.hasHeader('connection')) {
        const list = responseHeaderList(response.rawHeaders, doubt);
        (res as ServerResponse).writeHead(status, hsts === undefined ? list : withHsts(list, hsts));
      } else {
        const headers = responseHeaderObject(response.headers, doubt);
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
      response.on('data', guard((chunk: Buffer) => {
        scavenges?.add(chunk.length);
        if (!corked) {
          corked = true;
          out.cork();
          setImmediate(uncork);
        }
        out.write(chunk);
        if (out.writableLength >= H1_QUEUE_LIMIT) holdForClient();
      }));
    } else {
      response.on('data', guard((chunk: Buffer) => {
        scavenges?.add(chunk.length);
        if (!out.write(chunk)) holdForClient();
      }));
    }
    response.on('end', guard(() => {
      // filtered here: an HTTP/2 stream throws (outside any handler of ours) on a
      // connection-specific or repeated single-value trailer
      const trailers = response.rawTrailers.length ? trailerFields(response.rawTrailers) : undefined;
      if (trailers?.size) res.addTrailers(Object.fromEntries(trailers));
      res.end();
    }));
    response.on('aborted', () => complete(upstreamError(`upstream ${route.upstreamKey} closed the connection mid-response`, 'ECONNRESET', 502)));
    response.on('error', (err: ForwardError) => complete(err));
    res.on('drain', onResDrain);
  }));

  res.on('finish', () => {
    // an HTTP/2 response emits 'finish' when its stream closes, also on a reset by the client
    delivered = res.writableEnded;
    complete(undefined);
  });
  res.on('close', () => complete(undefined));
  res.on('error', (err: ForwardError) => complete(err));
  req.on('error', (err: ForwardError) => complete(err));

  if (framing === 'none') {
    // nothing to forward; reading to the end lets the client connection carry its next request
    req.resume();
    creq.end();
  } else {
    req.on('data', guard((chunk: Buffer) => {
      scavenges?.add(chunk.length);
      if (!creq.write(chunk)) req.pause();
    }));
    creq.on('drain', () => req.resume());
    req.on('end', guard(() => creq.end()));
  }
}

/**
 * How an exchange ended: the upstream's error if it failed, and whether the whole response was
 * handed to the client (false: the client went away, or the response was cut short).
 */
export type ForwardDone = (err: ForwardError | undefined, delivered: boolean) => void;
type ExchangeDone = (err: ForwardError | undefined, creq: ClientRequest, delivered: boolean) => void;

/**
 * Forwards one request. `done` is called once the exchange is over (response finished, client
 * gone, or upstream failed). Bodies stream both ways; a client that goes away aborts the upstream
 * request.
 */
export function forwardWeb(
  req: ClientRequestLike,
  res: ClientResponseLike,
  route: CompiledRoute,
  pool: UpstreamPool,
  opts: ForwardOptions,
  done: ForwardDone,
): void {
  if ((req as { aborted?: boolean }).aborted || res.destroyed) {
    done(undefined, false);
    return;
  }
  const framing = bodyFraming(req);
  exchange(req, res, route, pool, opts, framing, (err, creq, delivered) => {
    // A keep-alive socket the upstream closed just as we reused it: safe to retry once for a
    // request without a body (the body has been consumed), before anything reached the client.
    if (err && creq.reusedSocket && framing === 'none' && !res.headersSent && !res.destroyed && (req.method === 'GET' || req.method === 'HEAD')) {
      exchange(req, res, route, pool, opts, framing, (err2, _creq, delivered2) => done(err2, delivered2));
      return;
    }
    done(err, delivered);
  });
}

/**
 * An upstream that refused the upgrade (401, 403, a plain 200...): its answer reaches the client
 * with its head checked like any response's, instead of http2-proxy's raw copy of it. No length
 * of its own: the connection closes after it, which frames the body.
 */
function relayRefusal(socket: Duplex, ures: IncomingMessage, route: CompiledRoute): void {
  const status = ures.statusCode ?? 0;
  if (status < 200 || status > 599) throw upstreamError(`upstream ${route.upstreamKey} answered an upgrade with status ${status}`, 'EBADSTATUS', 502);
  const list = responseHeaderList(ures.rawHeaders, true);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < list.length; i += 2) {
    try {
      validateHeaderName(list[i]!);
    } catch {
      continue;
    }
    if (VALID_FIELD_VALUE.test(list[i + 1]!)) head += `${list[i]}: ${list[i + 1]}\r\n`;
  }
  socket.write(`${head}connection: close\r\n\r\n`);
  ures.pipe(socket);
}

/** How an upgrade ended: upgraded (101 relayed), or the status of the upstream's refusal. */
export interface UpgradeOutcome {
  upgraded: boolean;
  refusedWith?: number;
}

/** Forwards a WebSocket upgrade (HTTP/1.1) on its own upstream connection. */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  route: CompiledRoute,
  opts: ForwardOptions,
  done: (err: ForwardError | undefined, outcome: UpgradeOutcome) => void,
): void {
  const outcome: UpgradeOutcome = { upgraded: false };
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
        creq.once('upgrade', () => (outcome.upgraded = true));
        return creq;
      },
      onRes: async (_r: IncomingMessage, _s: unknown, ures: IncomingMessage) => {
        relayRefusal(socket, ures, route);
        outcome.refusedWith = ures.statusCode;
      },
    },
    (err: ForwardError | null) => done(err ?? undefined, outcome),
  );
}
