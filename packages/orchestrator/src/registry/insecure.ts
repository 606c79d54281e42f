import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { isLoopback } from './reference.js';

/** true when a registry may be spoken to without verified TLS (HTTPS without verification, then plain HTTP). */
export type InsecureMatcher = (registry: string) => boolean;

function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const i = registry.lastIndexOf(':');
  return i >= 0 && registry.indexOf(':') === i ? registry.slice(0, i) : registry;
}

/**
 * Docker's rule: loopback registries are always insecure; so is every entry of the daemon's
 * `insecure-registries` (a `host[:port]` or a CIDR that the registry's IP address falls in).
 */
export function insecureMatcher(entries: readonly string[]): InsecureMatcher {
  const names = new Set<string>();
  const cidrs = new BlockList();
  for (const raw of entries) {
    const e = raw.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    const slash = e.lastIndexOf('/');
    const ip = slash > 0 ? e.slice(0, slash) : '';
    const prefix = Number(e.slice(slash + 1));
    const family = isIP(ip);
    if (slash > 0 && family !== 0 && Number.isInteger(prefix)) cidrs.addSubnet(ip, prefix, family === 6 ? 'ipv6' : 'ipv4');
    else if (e !== '') names.add(e.toLowerCase());
  }
  return (registry) => {
    if (isLoopback(registry)) return true;
    const r = registry.toLowerCase();
    if (names.has(r)) return true;
    const host = hostOf(r);
    const family = isIP(host);
    return family !== 0 && cidrs.check(host, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Reads `insecure-registries` from the Docker daemon's config; a missing or unreadable file means none. */
export async function loadInsecureRegistries(path = '/etc/docker/daemon.json'): Promise<InsecureMatcher> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { 'insecure-registries'?: unknown };
    const list = parsed['insecure-registries'];
    return insecureMatcher(Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return insecureMatcher([]);
  }
}
