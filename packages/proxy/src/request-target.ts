/**
 * The request target and Host, checked and normalised once per request before routing. Pure, so
 * every odd spelling is table-tested. The proxy routes on what this returns and sends exactly
 * that upstream, so the upstream can never see a path other than the one its route matched.
 *
 * Decisions (see docs/guides/reverse-proxy.md, Routing):
 * - Percent-encoded unreserved characters (`%41` for `A`, `%2e` for `.`, RFC 3986 §6.2.2.2) are
 *   decoded, so `/pub%6cic` routes as `/public`, as nginx and Caddy route it.
 * - Dot-segments are removed (RFC 3986 §5.2.4); a `..` that would climb above `/` is a 400, as in
 *   nginx. So is a dot-segment with a path parameter (`..;x`), which Java servers resolve as `..`,
 *   and `%00`, which C-based backends read as the end of the path.
 * - `%2F` and `%5C` (and a raw `\`) are not separators: they are forwarded as sent. A segment that
 *   such a character splits into a dot-segment (`..%2f`, `%2e%2e%5c`) is a 400, since a backend
 *   that decodes before resolving would climb out of the route's prefix.
 * - Empty segments (`//`) are kept: merging them is the backend's choice, and a dot-segment after
 *   one removes it like any other segment, so what is routed is what is forwarded.
 * - Every other byte (percent-encodings included) is forwarded as the client sent it.
 */

export type TargetResult =
  | { ok: true; /** the absolute-form target's authority, when the client sent one */ authority: string | undefined; /** normalised path plus the query as sent */ url: string; /** normalised path only */ path: string }
  | { ok: false; reason: string };

function bad(reason: string): TargetResult {
  return { ok: false, reason };
}

/** 1 for `.`, 2 for `..`, 0 for any other segment (percent-encodings of dots are decoded before). */
function dotSegment(segment: string): 0 | 1 | 2 {
  return segment === '.' ? 1 : segment === '..' ? 2 : 0;
}

const ENCODED_SEPARATOR = /%2f|%5c|\\/i;

/** Percent-encodings of ALPHA, DIGIT, `-`, `.`, `_` and `~`: the same characters written plainly. */
const ENCODED_UNRESERVED = /%(?:4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|3[0-9]|2[de]|5f|7e)/gi;

function decodeUnreserved(path: string): string {
  return path.indexOf('%') === -1 ? path : path.replace(ENCODED_UNRESERVED, (m) => String.fromCharCode(parseInt(m.slice(1), 16)));
}

/**
 * Removes dot-segments from an absolute path (starts with '/', no query). Returns undefined when
 * the path climbs above the root or hides a dot-segment behind an encoded separator.
 */
export function normalizePath(path: string): string | undefined {
  // the common case: nothing to resolve, nothing to check
  if (path.indexOf('/.') === -1 && path.indexOf('%') === -1 && path.indexOf('\\') === -1) return path;
  const decoded = decodeUnreserved(path);
  if (/%00/.test(decoded)) return undefined;
  const segments = decoded.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading '/'
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    const dots = dotSegment(segment);
    if (dots === 1) {
      if (last) out.push('');
      continue;
    }
    if (dots === 2) {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push('');
      continue;
    }
    if (segment.charCodeAt(0) === 46 /* . */ && dotSegment(segment.split(';')[0]!) !== 0) return undefined;
    if (ENCODED_SEPARATOR.test(segment) && segment.split(ENCODED_SEPARATOR).some((part) => dotSegment(part.split(';')[0]!) !== 0)) return undefined;
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * A Host header or authority: a registered name or an IP literal, then an optional numeric port,
 * and nothing else (no userinfo, path, quotes or spaces). Returns the lower-cased host without
 * the port, or undefined.
 */
export function hostOfAuthority(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let host: string;
  let rest: string;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const end = raw.indexOf(']');
    if (end < 0) return undefined;
    host = raw.slice(0, end + 1).toLowerCase();
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return undefined;
    rest = raw.slice(end + 1);
  } else {
    const colon = raw.indexOf(':');
    host = (colon >= 0 ? raw.slice(0, colon) : raw).toLowerCase();
    rest = colon >= 0 ? raw.slice(colon) : '';
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host.length === 0 || host.length > 253 || !/^[a-z0-9_.-]+$/.test(host)) return undefined;
  }
  if (rest.length > 0) {
    if (!/^:[0-9]{1,5}$/.test(rest) || Number(rest.slice(1)) > 65535) return undefined;
  }
  return host;
}

/**
 * Splits and checks a request target: origin-form (`/path?query`) or absolute-form
 * (`http://authority/path?query`, RFC 9112 §3.2.2: its authority replaces Host). The
 * asterisk-form and anything else is refused.
 */
export function parseTarget(target: string): TargetResult {
  let authority: string | undefined;
  let rest = target;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = /^https?:\/\//i.exec(target);
    if (!scheme) return bad('request target is not a path or an http(s) URL');
    const afterScheme = target.slice(scheme[0].length);
    const end = afterScheme.search(/[/?]/);
    authority = end < 0 ? afterScheme : afterScheme.slice(0, end);
    rest = end < 0 ? '/' : afterScheme.slice(end);
    if (rest.charCodeAt(0) === 63 /* ? */) rest = `/${rest}`;
    if (hostOfAuthority(authority) === undefined) return bad('invalid authority in the request target');
  }
  if (rest.indexOf('#') !== -1) return bad('a fragment (#) is not part of a request target');
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const path = normalizePath(rawPath);
  if (path === undefined) return bad('the path climbs above "/", hides a dot-segment (behind an encoded separator or a ";"), or holds %00');
  return { ok: true, authority, path, url: q < 0 ? path : path + rest.slice(q) };
}

/** What routing and forwarding use from a request head that passed the checks. */
export interface RequestHead {
  /** lower-cased host without port: the routing key */
  host: string;
  /** the authority as the client sent it (validated): the upstream's Host and X-Forwarded-Host */
  authority: string;
  /** normalised origin-form target: what goes upstream */
  url: string;
  /** normalised path without the query: what routes */
  path: string;
}

export type HeadResult = ({ ok: true } & RequestHead) | { ok: false; reason: string };

/**
 * Checks the parts of a request head that decide where it goes: exactly one Host (HTTP/2: a Host
 * that agrees with :authority), a valid authority, a target that normalises. `rawHeaders` is the
 * request's [name, value, ...] list (HTTP/2 pseudo-headers included).
 */
export function checkHead(target: string, rawHeaders: readonly string[]): HeadResult {
  let hostHeader: string | undefined;
  let pseudoAuthority: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (hostHeader !== undefined) return { ok: false, reason: 'more than one Host header' };
      hostHeader = rawHeaders[i + 1]!;
    } else if (name === ':authority') {
      pseudoAuthority = rawHeaders[i + 1]!;
    }
  }
  if (pseudoAuthority !== undefined && hostHeader !== undefined && pseudoAuthority.toLowerCase() !== hostHeader.toLowerCase()) {
    return { ok: false, reason: 'Host differs from :authority' };
  }
  const parsed = parseTarget(target);
  if (!parsed.ok) return parsed;
  const authority = parsed.authority ?? pseudoAuthority ?? hostHeader;
  const host = hostOfAuthority(authority);
  if (host === undefined) return { ok: false, reason: authority ? 'invalid Host' : 'missing Host' };
  return { ok: true, host, authority: authority!, url: parsed.url, path: parsed.path };
}
