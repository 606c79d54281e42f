/**
 * Strict, minimal HTTP/1.1 message parsers for the conformance suite. The backend side parses what
 * a proxy sent it and notes every framing ambiguity instead of guessing; the client side parses
 * what a proxy answered, leniently, because the point there is to see what came back.
 */

export interface SeenRequest {
  /** which recording backend got it ('root' or 'public') */
  backend: string;
  /** connection number on that backend, from 1, in accept order across both backends */
  conn: number;
  method: string;
  url: string;
  version: string;
  /** as received, in order, names as sent */
  headers: [string, string][];
  body: Buffer;
  framing: 'none' | 'length' | 'chunked';
  /** the whole message arrived */
  complete: boolean;
  /** anything a strict server would refuse or could read two ways */
  problems: string[];
}

export function header(headers: readonly [string, string][], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface ParsedHead {
  startLine: string;
  headers: [string, string][];
  problems: string[];
}

/** Parses header lines (without the final empty line). Line ends are CRLF; a bare LF is a problem but is split on. */
export function parseHead(text: string): ParsedHead {
  const problems: string[] = [];
  if (/(^|[^\r])\n/.test(text)) problems.push('bare LF in head');
  const lines = text.split(/\r?\n/);
  const startLine = lines.shift() ?? '';
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      problems.push('obs-fold');
      const last = headers[headers.length - 1];
      if (last) last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`header line without name: ${JSON.stringify(line.slice(0, 40))}`);
      continue;
    }
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) problems.push(`invalid header name ${JSON.stringify(name)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) problems.push(`control character in ${name}`);
    headers.push([name, value]);
  }
  return { startLine, headers, problems };
}

type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'bad'; why: string };

/** How a strict recipient frames a request body (RFC 9112 §6.3), with the ambiguities named. */
function requestFraming(headers: readonly [string, string][], problems: string[]): Framing {
  const te = header(headers, 'transfer-encoding');
  const cl = header(headers, 'content-length');
  if (te.length && cl.length) problems.push('both Content-Length and Transfer-Encoding');
  if (te.length) {
    const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase());
    if (codings.length !== 1 || codings[0] !== 'chunked') return { kind: 'bad', why: `Transfer-Encoding ${JSON.stringify(te.join(', '))}` };
    return { kind: 'chunked' };
  }
  if (cl.length) {
    const values = new Set(cl.join(',').split(',').map((s) => s.trim()));
    if (values.size !== 1) return { kind: 'bad', why: `Content-Length ${JSON.stringify(cl.join(', '))}` };
    const v = [...values][0]!;
    if (!/^\d+$/.test(v)) return { kind: 'bad', why: `Content-Length ${JSON.stringify(v)}` };
    if (cl.length > 1) problems.push('repeated Content-Length');
    return { kind: 'length', length: Number(v) };
  }
  return { kind: 'none' };
}

export type ChunkedResult = { state: 'done'; body: Buffer; end: number; trailers: [string, string][] } | { state: 'partial'; body: Buffer } | { state: 'bad'; why: string; body: Buffer };

/** Parses a chunked body starting at `start` in `buf`, strictly (hex sizes, CRLF everywhere, extensions tolerated). */
export function parseChunked(buf: Buffer, start: number): ChunkedResult {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) {
      if (buf.indexOf('\n', pos) >= 0) return { state: 'bad', why: 'bare LF in chunk size line', body: Buffer.concat(parts) };
      return { state: 'partial', body: Buffer.concat(parts) };
    }
    const line = buf.subarray(pos, lineEnd).toString('latin1');
    if (line.includes('\n')) return { state: 'bad', why: 'bare LF in chunk size line', body: Buffer.concat(parts) };
    const m = /^([0-9a-fA-F]{1,15})(;.*)?$/.exec(line);
    if (!m) return { state: 'bad', why: `chunk size line ${JSON.stringify(line.slice(0, 40))}`, body: Buffer.concat(parts) };
    const size = parseInt(m[1]!, 16);
    pos = lineEnd + 2;
    if (size === 0) {
      const trailers: [string, string][] = [];
      for (;;) {
        const e = buf.indexOf('\r\n', pos);
        if (e < 0) return { state: 'partial', body: Buffer.concat(parts) };
        const t = buf.subarray(pos, e).toString('latin1');
        pos = e + 2;
        if (t === '') return { state: 'done', body: Buffer.concat(parts), end: pos, trailers };
        const c = t.indexOf(':');
        trailers.push([t.slice(0, c), t.slice(c + 1).trim()]);
      }
    }
    if (buf.length < pos + size + 2) {
      parts.push(buf.subarray(pos, Math.min(buf.length, pos + size)));
      return { state: 'partial', body: Buffer.concat(parts) };
    }
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return { state: 'bad', why: 'chunk data not followed by CRLF', body: Buffer.concat(parts) };
    pos += size + 2;
  }
}

export interface RequestParse {
  /** requests found, the last one possibly incomplete */
  requests: Omit<SeenRequest, 'backend' | 'conn'>[];
  /** bytes consumed by complete requests */
  consumed: number;
  /** the stream cannot be parsed any further (garbage or unframeable) */
  broken?: string;
}

/** Parses as many requests as `buf` holds. */
export function parseRequests(buf: Buffer): RequestParse {
  const requests: RequestParse['requests'] = [];
  let pos = 0;
  while (pos < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) {
      if (buf.length - pos > 256 * 1024) return { requests, consumed: pos, broken: 'head larger than 256 KB' };
      return { requests, consumed: pos };
    }
    const head = parseHead(buf.subarray(pos, headEnd).toString('latin1'));
    const parts = head.startLine.split(' ');
    const problems = [...head.problems];
    if (parts.length !== 3 || !TOKEN.test(parts[0]!) || !/^HTTP\/1\.[01]$/.test(parts[2]!)) problems.push(`request line ${JSON.stringify(head.startLine.slice(0, 60))}`);
    const req: RequestParse['requests'][number] = { method: parts[0] ?? '', url: parts[1] ?? '', version: parts[2] ?? '', headers: head.headers, body: Buffer.alloc(0), framing: 'none', complete: false, problems };
    requests.push(req);
    const framing = requestFraming(head.headers, problems);
    const bodyStart = headEnd + 4;
    if (framing.kind === 'bad') {
      problems.push(`unframeable: ${framing.why}`);
      return { requests, consumed: pos, broken: framing.why };
    }
    if (framing.kind === 'none') {
      req.complete = true;
      pos = bodyStart;
      continue;
    }
    if (framing.kind === 'length') {
      req.framing = 'length';
      req.body = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + framing.length));
      if (buf.length < bodyStart + framing.length) return { requests, consumed: pos };
      req.complete = true;
      pos = bodyStart + framing.length;
      continue;
    }
    req.framing = 'chunked';
    const c = parseChunked(buf, bodyStart);
    req.body = c.body;
    if (c.state === 'bad') {
      problems.push(`bad chunked body: ${c.why}`);
      return { requests, consumed: pos, broken: c.why };
    }
    if (c.state === 'partial') return { requests, consumed: pos };
    req.complete = true;
    pos = c.end;
  }
  return { requests, consumed: pos };
}

export interface ParsedResponse {
  status: number;
  version: string;
  headers: [string, string][];
  body: Buffer;
  trailers: [string, string][];
  /** the body's framing was satisfied (a close-delimited body: once the connection closed) */
  complete: boolean;
  /** the body runs until the connection closes (no Content-Length, not chunked) */
  closeDelimited: boolean;
}

/**
 * Parses the responses a client received. `headFor(i)` tells whether the i-th final response
 * answers a HEAD request (no body). Close-delimited bodies take the rest of the bytes.
 */
export function parseResponses(buf: Buffer, headFor: (i: number) => boolean = () => false): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let pos = 0;
  let finals = 0;
  while (pos < buf.length) {
    let headEnd = buf.indexOf('\r\n\r\n', pos);
    let sep = 4;
    const lf = buf.indexOf('\n\n', pos);
    if (lf >= 0 && (headEnd < 0 || lf < headEnd)) {
      headEnd = lf;
      sep = 2;
    }
    if (headEnd < 0) break;
    const head = parseHead(buf.subarray(pos, headEnd).toString('latin1'));
    const m = /^(HTTP\/\d\.\d) (\d{3})/.exec(head.startLine);
    if (!m) break;
    const status = Number(m[2]);
    const res: ParsedResponse = { status, version: m[1]!, headers: head.headers, body: Buffer.alloc(0), trailers: [], complete: false, closeDelimited: false };
    out.push(res);
    const bodyStart = headEnd + sep;
    if (status < 200 && status !== 101) {
      res.complete = true;
      pos = bodyStart;
      continue;
    }
    const isHead = headFor(finals++);
    if (isHead || status === 204 || status === 304 || status === 101) {
      res.complete = true;
      pos = bodyStart;
      if (status === 101) break;
      continue;
    }
    const te = header(head.headers, 'transfer-encoding').join(',').toLowerCase();
    const cl = header(head.headers, 'content-length');
    if (te.includes('chunked')) {
      const c = parseChunked(buf, bodyStart);
      res.body = c.body;
      if (c.state !== 'done') break;
      res.trailers = c.trailers;
      res.complete = true;
      pos = c.end;
    } else if (cl.length) {
      const n = Number(cl[0]);
      res.body = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + n));
      if (buf.length < bodyStart + n) break;
      res.complete = true;
      pos = bodyStart + n;
    } else {
      res.body = buf.subarray(bodyStart);
      res.closeDelimited = true;
      break;
    }
  }
  return out;
}

/** Percent-decodes every %XX (including %2F), leaving malformed escapes as they are. */
export function decodeAll(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** RFC 3986 §5.2.4 remove_dot_segments on a path (query stripped by the caller). */
export function removeDotSegments(path: string): string {
  const input = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const seg = input[i]!;
    const last = i === input.length - 1;
    if (seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length > 1) out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  let r = out.join('/');
  if (!r.startsWith('/')) r = `/${r}`;
  return r;
}

export function pathOf(url: string): string {
  const q = url.search(/[?#]/);
  return q >= 0 ? url.slice(0, q) : url;
}
