import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CompiledRoute } from './table.js';
import type { UpstreamPool } from './upstream-pool.js';
import { HSTS, withHsts } from './hsts.js';
import type { ClientRequestLike, ClientResponseLike, ForwardError, ForwardOptions } from './forward-types.js';
import { bodyFraming, framingInDoubt, responseHeaderList, responseHeaderObject, trailerFields, upstreamHeaderList, type BodyFraming } from './message-fields.js';

export const CONNECT_TIMEOUT = 'DISPENSER_UPSTREAM_CONNECT_TIMEOUT';
/** the client took nothing of a response ready for it for send_timeout */
export const SEND_TIMEOUT = 'DISPENSER_SEND_TIMEOUT';

/** 504 for an upstream that accepted but did not answer in time; 502 for everything else. */
export function statusForError(err: ForwardError): 502 | 504 {
  return err.code === 'ETIMEDOUT' && err.statusCode === 504 ? 504 : 502;
}

/** The request to the upstream, with the upstream (idle) timeout and the connect timeout armed. */
export function openUpstream(method: string | undefined, path: string | null | undefined, headers: RequestOptions['headers'], route: CompiledRoute, agent: Agent | false, opts: ForwardOptions): ClientRequest {
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

export function upstreamError(message: string, code: string, statusCode: number): ForwardError {
  const err: ForwardError = new Error(message);
  err.code = code;
  err.statusCode = statusCode;
  return err;
}

/** Bytes of response body queued for an HTTP/1.1 client before the upstream is paused: two reads' worth. */
const H1_QUEUE_LIMIT = 128 * 1024;

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
  const tuning = opts.tuning;
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
    if (doubt) creq.shouldKeepAlive = false;
    tuning.upstreamResponse(response);
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
        tuning.bodyBytes(chunk.length);
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
        tuning.bodyBytes(chunk.length);
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
      tuning.bodyBytes(chunk.length);
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
