import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { applyForwardHeaders, clientAddress, isClientForwardingHeader } from './headers.js';
import type { ClientRequestLike, ForwardOptions } from './forward-types.js';

/**
 * What crosses the proxy of a message besides its body: which header and trailer fields go on,
 * and how a body is framed. Pure, so each rule is table-tested.
 */

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
export function upstreamHeaderList(req: ClientRequestLike, opts: Pick<ForwardOptions, 'host' | 'tls' | 'trusted'>, framing: BodyFraming = 'none'): string[] {
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
export const VALID_FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

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
export function responseHeaderList(raw: readonly string[], dropLength: boolean): string[] {
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
export function responseHeaderObject(headers: IncomingMessage['headers'], dropLength: boolean): Record<string, string | string[]> {
  const listed = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP.has(key) || listed?.has(key) || (dropLength && key === 'content-length')) continue;
    out[key] = value;
  }
  return out;
}
