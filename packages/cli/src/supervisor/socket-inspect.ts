import { readFileSync, readlinkSync } from 'node:fs';

/**
 * What an inherited descriptor is bound to, read from /proc: Node cannot call getsockname on a
 * descriptor without wrapping it in a server, and closing that server would close the descriptor
 * the daemon has to keep for its workers. Linux only (systemd is too); elsewhere, undefined.
 */
export interface BoundAddress {
  address: string;
  port: number;
}

export type SocketInspection = { kind: 'tcp-listen'; bound: BoundAddress } | { kind: 'not-a-socket' } | { kind: 'not-listening-tcp' } | { kind: 'unknown' };

const TCP_LISTEN = '0A';

export function inspectSocket(fd: number, proc = '/proc'): SocketInspection {
  let link: string;
  try {
    link = readlinkSync(`${proc}/self/fd/${fd}`);
  } catch {
    return { kind: 'unknown' };
  }
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (!inode) return { kind: 'not-a-socket' };
  let sawTable = false;
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`${proc}/self/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    sawTable = true;
    const bound = findListening(text, inode, table === 'tcp6');
    if (bound) return { kind: 'tcp-listen', bound };
  }
  return sawTable ? { kind: 'not-listening-tcp' } : { kind: 'unknown' };
}

/** A row of /proc/net/tcp{,6}: `sl local rem st txq:rxq tr:tm retrnsmt uid timeout inode ...` */
export function findListening(table: string, inode: string, v6: boolean): BoundAddress | undefined {
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[9] !== inode || cols[3] !== TCP_LISTEN) continue;
    const [hexAddr, hexPort] = (cols[1] ?? '').split(':');
    if (!hexAddr || !hexPort) return undefined;
    return { address: v6 ? ipv6(hexAddr) : ipv4(hexAddr), port: parseInt(hexPort, 16) };
  }
  return undefined;
}

/** The kernel prints each 32-bit word of the address in host order (little-endian here). */
function words(hex: string): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const word = hex.slice(i, i + 8);
    out.push([6, 4, 2, 0].map((j) => parseInt(word.slice(j, j + 2), 16)));
  }
  return out;
}

function ipv4(hex: string): string {
  return (words(hex)[0] ?? []).join('.');
}

function ipv6(hex: string): string {
  const bytes = words(hex).flat();
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // the longest run of zero groups becomes `::`
  const joined = groups.join(':');
  const runs = joined.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return joined;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return joined.replace(longest, '::');
}
