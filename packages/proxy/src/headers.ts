import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Forwarding headers added to the upstream request. Pure so the trust rules are table-tested.
 *
 * Untrusted (the default): whatever the client sent in X-Forwarded-* / X-Real-IP / Forwarded is
 * replaced, never passed through, because anyone can send them.
 * Trusted (Dispenser sits behind another proxy): X-Forwarded-For is appended to, an existing
 * X-Real-IP / X-Forwarded-Proto / X-Forwarded-Host is kept.
 */
export interface ForwardContext {
  /** client address as seen on the socket */
  peer: string;
  proto: 'http' | 'https';
  /** the Host / :authority the client used, as sent */
  host: string;
  trusted: boolean;
}

export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  // bind = '::' reports IPv4 peers as IPv4-mapped IPv6 addresses; upstreams expect the IPv4 form
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

/** `X-Forwarded-*` (any of them: -Port, -Prefix, -Ssl… steer frameworks too), `X-Real-IP`, `Forwarded`. */
function isForwardingName(dashed: string): boolean {
  return dashed.startsWith('x-forwarded') || dashed === 'x-real-ip' || dashed === 'forwarded';
}

/**
 * Whether a client's request header (lower-cased name) must not reach the upstream under the
 * trust rules. Untrusted: every forwarding header the client sent, since the proxy's own replace
 * them and the rest (`X-Forwarded-Port`, `-Prefix`, `-Ssl`) would otherwise pass as the proxy's
 * word. Either way: their underscore spellings (`X_Forwarded_For`), which CGI-style app servers
 * (Rack, PHP) fold into the dashed ones, so they would slip past the trust rules.
 */
export function isClientForwardingHeader(lowerName: string, trusted: boolean): boolean {
  const c = lowerName.charCodeAt(0);
  if (c !== 120 /* x */ && c !== 102 /* f */) return false;
  if (lowerName.indexOf('_') !== -1) return isForwardingName(lowerName.replace(/_/g, '-'));
  return !trusted && isForwardingName(lowerName);
}

function first(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length ? value.join(', ') : undefined;
  return String(value);
}

function forwardedFor(peer: string): string {
  return peer.includes(':') ? `"[${peer}]"` : peer;
}

/** Mutates `headers` (the upstream request's headers, hop-by-hop ones already removed). */
export function applyForwardHeaders(headers: OutgoingHttpHeaders, ctx: ForwardContext): void {
  const own = `for=${forwardedFor(ctx.peer)};proto=${ctx.proto}`;
  if (ctx.trusted) {
    const xff = first(headers['x-forwarded-for']);
    headers['x-forwarded-for'] = xff ? `${xff}, ${ctx.peer}` : ctx.peer;
    if (!headers['x-real-ip']) headers['x-real-ip'] = ctx.peer;
    if (!headers['x-forwarded-proto']) headers['x-forwarded-proto'] = ctx.proto;
    if (!headers['x-forwarded-host']) headers['x-forwarded-host'] = ctx.host;
    const fwd = first(headers['forwarded']);
    headers['forwarded'] = fwd ? `${fwd}, ${own}` : own;
  } else {
    headers['x-forwarded-for'] = ctx.peer;
    headers['x-real-ip'] = ctx.peer;
    headers['x-forwarded-proto'] = ctx.proto;
    headers['x-forwarded-host'] = ctx.host;
    headers['forwarded'] = own;
  }
}
