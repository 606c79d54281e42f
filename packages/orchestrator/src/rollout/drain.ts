import { readFile } from 'node:fs/promises';

/**
 * How long to keep the old container after the proxy has switched to the new one. The proxy
 * closes idle upstream connections to a container that left the route table and busy ones once
 * their last request is answered, so "no established TCP connection to service_port inside the
 * old container's network namespace" means nothing is in flight there any more. The namespace's
 * sockets are read from /proc/<pid>/net/tcp{,6} (the container's main process, seen from the
 * host). Where that cannot be read (rootless engine, remote daemon) a fixed grace is used.
 */

const ESTABLISHED = '01';

/** Pure: established connections whose local port is `port`, in /proc/net/tcp or tcp6 format. */
export function countEstablished(procNetTcp: string, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const line of procNetTcp.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local || cols[3] !== ESTABLISHED) continue;
    if (local.slice(local.lastIndexOf(':') + 1) === hexPort) n++;
  }
  return n;
}

/** established connections to `port` in the network namespace of host process `pid`; undefined when unreadable */
export async function openConnections(pid: number, port: number): Promise<number | undefined> {
  if (!pid) return undefined;
  let total = 0;
  let readAny = false;
  for (const file of ['tcp', 'tcp6']) {
    try {
      total += countEstablished(await readFile(`/proc/${pid}/net/${file}`, 'utf8'), port);
      readAny = true;
    } catch {
      // tcp6 is missing without IPv6; both missing: not visible from here
    }
  }
  return readAny ? total : undefined;
}

export interface DrainDeps {
  connections(): Promise<number | undefined>;
  sleep(ms: number): Promise<boolean>;
  now(): number;
}

export interface DrainResult {
  /** connections: watched them close; grace: fixed wait; */
  method: 'connections' | 'grace';
  /** false when the drain timeout ended the wait with connections still open */
  drained: boolean;
  waitedMs: number;
  open: number;
}

/** The fixed wait when connections cannot be observed: long enough for typical requests, never past drain_timeout. */
export const FALLBACK_GRACE_MS = 2000;
const POLL_MS = 100;

export async function drain(timeoutMs: number, deps: DrainDeps): Promise<DrainResult> {
  const start = deps.now();
  let open = await deps.connections();
  if (open === undefined) {
    const grace = Math.min(FALLBACK_GRACE_MS, timeoutMs);
    await deps.sleep(grace);
    return { method: 'grace', drained: true, waitedMs: deps.now() - start, open: 0 };
  }
  while (open > 0 && deps.now() - start < timeoutMs) {
    if (!(await deps.sleep(Math.min(POLL_MS, timeoutMs - (deps.now() - start))))) break;
    open = (await deps.connections()) ?? 0;
  }
  return { method: 'connections', drained: open === 0, waitedMs: deps.now() - start, open };
}
