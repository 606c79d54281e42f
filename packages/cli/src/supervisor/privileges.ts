import { readFileSync } from 'node:fs';
import type { Logger } from '@dispenser/shared/log';
import { clearAmbientCapabilities, parseStatus } from '@dispenser/proxy/privileges';

/**
 * Called once at start, before the first child is forked, on the thread that forks (the main
 * one): empties the supervisor's ambient and inheritable capabilities so that every child it
 * executes (orchestrator, proxy workers, systemd-notify) starts with none. The supervisor keeps
 * its own permitted/effective ones: CAP_NET_BIND_SERVICE to open the workers' listening sockets,
 * CAP_SETGID for the setgroups() in each worker's fork (forkProxyWorker). See docs/operations.md,
 * Privileges.
 *
 * Logs once at warn level (code SUPERVISOR_CAPABILITIES_INHERITED) when there were some and they
 * could not be cleared (no addon on a machine without a C compiler); goes on either way.
 */
export function clearChildCapabilities(log: Logger, readStatus = (): string => readFileSync('/proc/self/status', 'utf8')): { cleared: boolean; reason?: string } {
  if (process.platform !== 'linux') return { cleared: false, reason: 'not Linux' };
  let before: bigint;
  try {
    const creds = parseStatus(readStatus());
    before = creds.capAmb | creds.capInh;
  } catch {
    before = -1n; // unknown: try anyway
  }
  if (before === 0n) return { cleared: true };
  const reason = clearAmbientCapabilities();
  if (reason === undefined) return { cleared: true };
  log.warn(
    { code: 'SUPERVISOR_CAPABILITIES_INHERITED', reason, capabilities: before > 0n ? `0x${before.toString(16)}` : undefined },
    `children (orchestrator, proxy workers) inherit the supervisor's ambient capabilities: ${reason}`,
  );
  return { cleared: false, reason };
}
