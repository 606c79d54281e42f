/**
 * The fixed label values of Dispenser's metrics, so every series stays bounded: request methods
 * folded into eight values, status codes into five classes, and never a host, path or client
 * address. Zod-free and allocation-free: a proxy worker calls these on every request.
 */

/** Request methods as labelled; anything else (WebDAV, made-up ones) is `other`. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'other'] as const;
export type MethodLabel = (typeof METHODS)[number];

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The `service` label of requests no declared service answers for (bad request, unknown host or
 * path, ACME challenge, https redirect). Not a valid service name (those start with a letter or
 * digit), so it cannot be mistaken for one.
 */
export const UNROUTED_SERVICE = '-';

/** Upper bounds (seconds) of the proxy's request duration histogram; +Inf is implied. */
export const LATENCY_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHOD_INDEX: ReadonlyMap<string | undefined, number> = new Map(METHODS.map((m, i) => [m, i]));
const OTHER = METHODS.length - 1;

/** Index into METHODS. Methods are case-sensitive (RFC 9110 §9.1): `get` is not GET, nor is "other". */
export function methodIndex(method: string | undefined): number {
  return method === 'other' ? OTHER : METHOD_INDEX.get(method) ?? OTHER;
}

/** Index into STATUS_CLASSES; a status outside 100–599 (only a broken upstream sends one) counts as 5xx. */
export function statusClassIndex(status: number): number {
  const c = Math.floor(status / 100) - 1;
  return c >= 0 && c <= 4 ? c : 4;
}
