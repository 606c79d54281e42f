/**
 * How long a Retry-After header asks to wait, in ms: delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3). A date in the past is 0; an absent or unreadable header is undefined.
 * `maxMs` caps what a server can ask for.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number, maxMs = Number.POSITIVE_INFINITY): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, maxMs);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), maxMs);
}
