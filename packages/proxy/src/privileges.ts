import { readFileSync } from 'node:fs';
import { loadAddon } from './native-addon.js';

/**
 * Least privilege for a proxy worker. The daemon runs with the `docker` group (root-equivalent)
 * and, from systemd's ambient set, CAP_NET_BIND_SERVICE and CAP_SETGID; a worker inherits them
 * but faces the internet and needs none of them, except CAP_NET_BIND_SERVICE when it binds its
 * own sockets (a plain child_process.fork; under node:cluster the supervisor binds them). So at
 * start, before any traffic, it drops the supplementary groups, every other capability and sets
 * no_new_privs (native/privileges.c), then reads /proc to check what is left.
 */

/** Linux capability number of CAP_NET_BIND_SERVICE (linux/capability.h). */
export const CAP_NET_BIND_SERVICE = 10;

interface Addon {
  dropPrivileges(keepMask: number): { threads: number; unreached: number; error?: string };
}

const { addon, reason } = loadAddon<Addon>('privileges', (a) => typeof a.dropPrivileges === 'function');

/** Why privileges cannot be dropped in this process, or `undefined` when they can. */
export const privilegesUnavailable: string | undefined = reason;

/** The credential lines of /proc/<pid>/status (or of one of its threads). */
export interface Credentials {
  groups: number[];
  capInh: bigint;
  capPrm: bigint;
  capEff: bigint;
  capAmb: bigint;
  noNewPrivs: boolean;
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
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}

/**
 * What `creds` holds beyond a worker's due: no supplementary groups, no inheritable or ambient
 * capabilities, nothing permitted outside `allowed`, no_new_privs set. One phrase per item, empty
 * when there is nothing to report.
 */
export function excessPrivileges(creds: Credentials, allowed: bigint): string[] {
  const hex = (m: bigint) => `0x${m.toString(16)}`;
  const out: string[] = [];
  if (creds.groups.length) out.push(`supplementary groups ${creds.groups.join(',')}`);
  const extra = (creds.capPrm | creds.capEff) & ~allowed;
  if (extra) out.push(`capabilities ${hex(extra)}`);
  if (creds.capInh) out.push(`inheritable capabilities ${hex(creds.capInh)}`);
  if (creds.capAmb) out.push(`ambient capabilities ${hex(creds.capAmb)}`);
  if (!creds.noNewPrivs) out.push('no_new_privs not set');
  return out;
}

export interface DropOutcome {
  /** what the process (its main thread) still holds beyond its due; empty when all went */
  kept: string[];
  /** why something was kept: the addon's failed step, or why the addon is unavailable */
  reason?: string;
  /** threads of the process when it dropped, and those it could not reach (they block signals) */
  threads?: number;
  unreached?: number;
}

/**
 * Drops what a worker does not need. `bindsItself`: the worker opens its own listening sockets
 * (not a node:cluster worker), so it keeps CAP_NET_BIND_SERVICE if it has it. Never throws: a
 * worker that cannot drop keeps serving, and the caller logs the outcome.
 */
export function dropWorkerPrivileges(bindsItself: boolean, readStatus = (): string => readFileSync('/proc/self/status', 'utf8')): DropOutcome {
  if (process.platform !== 'linux') return { kept: [] };
  const allowed = bindsItself ? 1n << BigInt(CAP_NET_BIND_SERVICE) : 0n;
  let reasonKept = privilegesUnavailable;
  let threads: number | undefined;
  let unreached: number | undefined;
  if (addon) {
    const result = addon.dropPrivileges(Number(allowed));
    ({ threads, unreached } = result);
    reasonKept = result.error;
  }
  let kept: string[];
  try {
    kept = excessPrivileges(parseStatus(readStatus()), allowed);
  } catch (err) {
    kept = ['unknown (cannot read /proc/self/status)'];
    reasonKept ??= (err as Error).message;
  }
  return { kept, reason: kept.length ? reasonKept ?? 'the kernel refused without an error' : undefined, threads, unreached };
}
