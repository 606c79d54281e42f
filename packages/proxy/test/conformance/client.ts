import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connect as h2connect, constants as h2c, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { parseResponses, type ParsedResponse } from './wire.js';

/** One step of what a raw client sends: bytes, a pause, or a half-close (FIN). */
export type Step = string | Buffer | { wait: number } | { end: true };

export interface RawResult {
  /** every byte received */
  data: Buffer;
  responses: ParsedResponse[];
  /** final (non-1xx) responses */
  finals: ParsedResponse[];
  /** the proxy closed (or reset) the connection */
  closed: boolean;
  timedOut: boolean;
  error?: string;
  ms: number;
}

export interface RawOptions {
  port: number;
  /** stop once this many complete final responses arrived (then linger) */
  responses?: number;
  /** after the expected responses, wait this long for more bytes or a close */
  lingerMs?: number;
  timeoutMs: number;
  /** the i-th final response answers a HEAD request */
  headFor?: (i: number) => boolean;
  tls?: { servername: string; ca: string };
}

/** Sends exact bytes on a fresh connection and collects what comes back. */
export function rawExchange(steps: readonly Step[], opts: RawOptions): Promise<RawResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port: opts.port, servername: opts.tls.servername, ca: opts.tls.ca, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: '127.0.0.1', port: opts.port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let error: string | undefined;
    let done = false;
    let linger: NodeJS.Timeout | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      if (linger) clearTimeout(linger);
      socket.destroy();
      const data = Buffer.concat(chunks);
      const responses = parseResponses(data, opts.headFor);
      // a close-delimited body is whole once the connection closed
      const last = responses[responses.length - 1];
      if (last?.closeDelimited && closed) last.complete = true;
      resolve({ data, responses, finals: responses.filter((r) => r.status >= 200 || r.status === 101), closed, timedOut, error, ms: Date.now() - started });
    };
    timers.push(setTimeout(() => finish(true), opts.timeoutMs));
    const want = opts.responses ?? 1;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const finals = parseResponses(Buffer.concat(chunks), opts.headFor).filter((r) => (r.status >= 200 || r.status === 101) && r.complete);
      if (finals.length >= want) {
        if (linger) clearTimeout(linger);
        linger = setTimeout(() => finish(false), opts.lingerMs ?? 0);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
      closed = true;
      finish(false);
    });
    socket.on('end', () => {
      closed = true;
      finish(false);
    });
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
    const onConnect = async (): Promise<void> => {
      for (const step of steps) {
        if (done) return;
        if (typeof step === 'string') socket.write(Buffer.from(step, 'latin1'));
        else if (Buffer.isBuffer(step)) socket.write(step);
        else if ('wait' in step) await new Promise((r) => timers.push(setTimeout(r, step.wait)));
        else socket.end();
      }
    };
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => void onConnect());
  });
}

export interface H2Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
  /** RST_STREAM code when the stream was reset (0 = NO_ERROR) */
  rstCode?: number;
  error?: string;
  timedOut: boolean;
  ms: number;
}

export function h2Session(port: number, servername: string, ca: string): ClientHttp2Session {
  // the authority is the name; the connection goes to loopback
  const session = h2connect(`https://${servername}:${port}`, { ca, servername, host: '127.0.0.1' } as never);
  session.on('error', () => undefined);
  return session;
}

/** One HTTP/2 request; `data` frames are written as given (content-length is not checked client-side). */
export function h2Exchange(session: ClientHttp2Session, headers: OutgoingHttpHeaders, data: readonly (string | Buffer)[], timeoutMs: number): Promise<H2Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    let status = 0;
    let hdrs: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let done = false;
    let error: string | undefined;
    const stream = session.request(headers, { endStream: data.length === 0 });
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const rstCode = stream.rstCode;
      if (!stream.destroyed) stream.close(h2c.NGHTTP2_CANCEL);
      resolve({ status, headers: hdrs, body: Buffer.concat(chunks), trailers, rstCode, error, timedOut, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    stream.on('response', (h) => {
      status = Number(h[':status']);
      hdrs = h;
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => finish(false));
    stream.on('close', () => finish(false));
    stream.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
      finish(false);
    });
    if (data.length) {
      data.forEach((d, i) => (i === data.length - 1 ? stream.end(d) : stream.write(d)));
    }
  });
}
