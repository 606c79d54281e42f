import { readFileSync } from 'node:fs';
import { loadAddon } from './native-addon.js';

/**
 * Least privilege for proxy workers. The daemon runs with the `docker` group (root-equivalent)
 * and, from systemd's ambient set, CAP_NET_BIND_SERVICE and CAP_SETGID. Workers face the internet
 * and need none of it (under node:cluster the supervisor opens their listening sockets), so the
 * supervisor makes them start without it, before their execve:
 *
 * - it clears its own ambient (and inheritable) capabilities once at start, on the thread that
 *   forks (`clearAmbientCapabilities`, native/ambient-caps.c): a child it executes then starts
 *   with no capabilities in any thread, the orchestrator included;
 * - it forks workers with its own gid (cluster's `gid` option): libuv's child then calls
 *   setgroups(0, NULL) before exec, which drops the supplementary groups (needs CAP_SETGID).
 *
 * The worker itself only checks, at start, what it holds (`workerPrivilegesKept`).
 */

interface Addon {
  clearAmbientCapabilities(): number;
}

const { addon, reason } = loadAddon<Addon>('ambient-caps', (a) => typeof a.clearAmbientCapabilities === 'function');

/** Why ambient capabilities cannot be cleared in this process, or `undefined` when they can. */
export const ambientCapsUnavailable: string | undefined = reason;

/**
 * Empties the calling thread's ambient and inheritable capabilities, so that what it executes
 * from then on starts without capabilities; permitted and effective ones stay. Returns
 * `undefined` when done, else why not (addon unavailable, or the errno of the failed step).
 */
export function clearAmbientCapabilities(): string | undefined {
  if (!addon) return reason;
  const errno = addon.clearAmbientCapabilities();
  return errno === 0 ? undefined : `prctl/capset failed with errno ${errno}`;
}

/** The credential lines of /proc/<pid>/status (or of one of its threads). */
export interface Credentials {
  groups: number[];
  capInh: bigint;
  capPrm: bigint;
  capEff: bigint;
  capAmb: bigint;
}

export function parseStatus(text: string): Credentials {
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const mask = (name: string): bigint => {
    const hex = field(name);
    return /^[0-9a-f]+$/i.test(hex) ? BigInt(`0x${hex}`) : 0n;
  };
  return {
    groups: field('Groups').split(/\s+/).filter(Boolean).map(Number),
    capInh: mask('CapInh'),
    capPrm: mask('CapPrm'),
    capEff: mask('CapEff'),
    capAmb: mask('CapAmb'),
  };
}

/** What `creds` holds beyond a worker's due (nothing): one phrase per item, empty when clean. */
export function excessPrivileges(creds: Credentials): string[] {
  const hex = (m: bigint) => `0x${m.toString(16)}`;
  const out: string[] = [];
  if (creds.groups.length) out.push(`supplementary groups ${creds.groups.join(',')}`);
  if (creds.capPrm | creds.capEff) out.push(`capabilities ${hex(creds.capPrm | creds.capEff)}`);
  if (creds.capInh) out.push(`inheritable capabilities ${hex(creds.capInh)}`);
  if (creds.capAmb) out.push(`ambient capabilities ${hex(creds.capAmb)}`);
  return out;
}

/** The likely reason a worker started with `creds`. */
export function keptReason(creds: Credentials, uid: number | undefined, underCluster: boolean): string {
  if (uid === 0) return 'running as root (a dev run?): root gets every capability at execve; run dispenser as a dedicated user (the packaged unit does)';
  if (!underCluster) return 'not started by the dispenser supervisor (a plain fork), which drops them before a worker starts';
  const why: string[] = [];
  if (creds.groups.length) why.push('the supervisor lacks CAP_SETGID, so the groups could not be dropped before exec');
  if (creds.capPrm | creds.capEff | creds.capInh | creds.capAmb) {
    why.push('the supervisor could not clear its ambient capabilities (ambient-caps addon unavailable? it logs SUPERVISOR_CAPABILITIES_INHERITED)');
  }
  return why.join('; ');
}

/**
 * What this process holds beyond a worker's due and the likely reason, or `undefined` when
 * nothing. Never throws. Linux only (elsewhere: `undefined`).
 */
export function workerPrivilegesKept(
  underCluster: boolean,
  readStatus = (): string => readFileSync('/proc/self/status', 'utf8'),
): { kept: string[]; reason: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  let creds: Credentials;
  try {
    creds = parseStatus(readStatus());
  } catch (err) {
    return { kept: ['unknown'], reason: `cannot read /proc/self/status: ${(err as Error).message}` };
  }
  const kept = excessPrivileges(creds);
  return kept.length ? { kept, reason: keptReason(creds, process.getuid?.(), underCluster) } : undefined;
}
