/**
 * Reads the loopback registry's access log ($DISPENSER_TEST_REGISTRY_LOG) to see which requests
 * reached it: the way to prove that a poll downloads nothing.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface RegistryRequest {
  method: string;
  /** path and query, e.g. /v2/app/manifests/live */
  uri: string;
  status: number;
}

/** Current end of the log: pass it to requestsSince() to see only what comes after. */
export function registryLogOffset(logFile: string): number {
  return statSync(logFile).size;
}

/**
 * Requests for `repository` (name without the registry host) logged after `offset`. Only the
 * combined-format access lines are read (`"HEAD /v2/... HTTP/1.1" 200`), so each request counts
 * once; the registry's own "response completed" lines repeat them.
 */
export function requestsSince(logFile: string, offset: number, repository: string): RegistryRequest[] {
  const size = statSync(logFile).size;
  if (size <= offset) return [];
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  const prefix = `/v2/${repository}/`;
  const out: RegistryRequest[] = [];
  for (const line of buf.toString('utf8').split('\n')) {
    const m = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /.exec(line);
    if (m && m[2]!.startsWith(prefix)) out.push({ method: m[1]!, uri: m[2]!, status: Number(m[3]) });
  }
  return out;
}
