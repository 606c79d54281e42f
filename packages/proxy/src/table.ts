import type { Route, Upstream } from '@dispenser/shared/ipc/messages';
import { hostOfAuthority } from './request-target.js';
import { hstsValue } from './hsts.js';
import { ProxyMetrics, type ServiceMetrics } from './metrics.js';

/**
 * The routing table: compiled once per routes snapshot, looked up synchronously per request.
 * Pure: no I/O, so the data path never waits on anything to route.
 */

export interface CompiledRoute {
  readonly service: string;
  readonly host: string;
  /** normalized prefix: starts with '/', no trailing '/' except the root itself */
  readonly prefix: string;
  readonly upstream: Upstream;
  /** `host:port` of the upstream, the key of its connection pool */
  readonly upstreamKey: string;
  /** Strict-Transport-Security value for HTTPS responses, built here so a request only reads it */
  readonly hsts: string | undefined;
  /** this service's request counters, found here so a request only increments them */
  readonly metrics: ServiceMetrics;
}

/**
 * A route of a declared service that has no running container: the host and path belong to it, so
 * the proxy answers 503 (try again later) rather than 404 (no such thing here).
 */
export interface UnavailableRoute {
  readonly service: string;
  readonly host: string;
  readonly prefix: string;
  readonly upstream: null;
  readonly upstreamKey: null;
  readonly hsts: string | undefined;
  readonly metrics: ServiceMetrics;
}

/** What a lookup finds: a route to forward on, or one whose service is down. */
export type TableEntry = CompiledRoute | UnavailableRoute;

export interface RouteTable {
  readonly version: number;
  /** host → routes, longest prefix first */
  readonly hosts: ReadonlyMap<string, readonly TableEntry[]>;
  /** every distinct upstream key in the table */
  readonly upstreams: ReadonlySet<string>;
}

export const emptyTable: RouteTable = Object.freeze({ version: -1, hosts: new Map(), upstreams: new Set<string>() });

export function normalizePrefix(path: string): string {
  let p = path.startsWith('/') ? path : `/${path}`;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function upstreamKey(u: Upstream): string {
  return u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** `metrics`: the worker's counters, which outlive any one table (a throwaway set by default, for tests) */
export function compileRoutes(routes: readonly Route[], version = 0, metrics: ProxyMetrics = new ProxyMetrics()): RouteTable {
  const hosts = new Map<string, TableEntry[]>();
  const upstreams = new Set<string>();
  for (const r of routes) {
    const host = hostOfAuthority(r.host);
    if (host === undefined) continue;
    const common = { service: r.service, host, prefix: normalizePrefix(r.path), hsts: r.hsts ? hstsValue(r.hsts) : undefined, metrics: metrics.forService(r.service) };
    const compiled: TableEntry = Object.freeze(
      r.upstream
        ? { ...common, upstream: Object.freeze({ host: r.upstream.host, port: r.upstream.port }), upstreamKey: upstreamKey(r.upstream) }
        : { ...common, upstream: null, upstreamKey: null },
    );
    let list = hosts.get(host);
    if (!list) hosts.set(host, (list = []));
    // Same host and prefix twice: the first declaration wins, deterministically.
    if (list.some((x) => x.prefix === compiled.prefix)) continue;
    list.push(compiled);
    if (compiled.upstreamKey !== null) upstreams.add(compiled.upstreamKey);
  }
  for (const list of hosts.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
  return Object.freeze({ version, hosts, upstreams });
}

/** True when `prefix` matches `url` (a normalised path, optionally with its query) on a segment boundary. */
export function prefixMatches(prefix: string, url: string): boolean {
  if (prefix === '/') return true;
  if (!url.startsWith(prefix)) return false;
  if (url.length === prefix.length) return true;
  const next = url.charCodeAt(prefix.length);
  return next === 47 /* / */ || next === 63 /* ? */ || next === 35; /* # */
}

/** undefined: nothing declares this host and path (404); an entry with upstream null: declared, not running (503) */
export function lookup(table: RouteTable, host: string, url: string): TableEntry | undefined {
  const list = table.hosts.get(host);
  if (!list) return undefined;
  for (let i = 0; i < list.length; i++) {
    const route = list[i]!;
    if (prefixMatches(route.prefix, url)) return route;
  }
  return undefined;
}
