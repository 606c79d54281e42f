/**
 * How a proxy worker opens its listening sockets.
 *
 * Under node:cluster with SCHED_NONE every worker shares the primary's one listening socket and
 * the first worker to wake takes every pending connection: a burst of new connections (a load
 * balancer or a browser fleet opening many at once) splits about 30/70 between two workers and
 * stays that way for the connections' life. With SO_REUSEPORT each worker owns its own socket on
 * the same port and the kernel spreads new connections evenly across them. Node has
 * `reusePort` in `listen()` since 22.12 / 23.1; on an older Node the shared handle is all there is.
 */

export interface ListenOptions {
  port: number;
  host: string;
  exclusive?: boolean;
  reusePort?: boolean;
}

/** Node versions whose net `listen()` understands `reusePort` (22.12+, 23.1+). */
export function nodeHasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

export interface ListenContext {
  /** running as a node:cluster worker */
  clusterWorker: boolean;
  /** process.versions.node */
  nodeVersion: string;
  /** DISPENSER_PROXY_REUSEPORT; '0' turns SO_REUSEPORT off (to compare, or to rule it out) */
  envToggle: string | undefined;
}

export function listenOptions(port: number, host: string, ctx: ListenContext): ListenOptions {
  // port 0 must stay shared: each worker binding its own socket would get a different random port
  const reuse = ctx.clusterWorker && port !== 0 && ctx.envToggle !== '0' && nodeHasReusePort(ctx.nodeVersion);
  return reuse ? { port, host, exclusive: true, reusePort: true } : { port, host };
}
