import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertEntry } from '@dispenser/shared/ipc/messages';
import { tlsProfile } from './tls-profile.js';

/**
 * Certificates by SNI name. A certificate snapshot is compiled into SecureContexts once, off the
 * handshake path, and the whole set is swapped with one assignment; a handshake that starts
 * after the swap uses the new set.
 */
export interface SniContexts {
  readonly version: number;
  readonly exact: ReadonlyMap<string, SecureContext>;
  /** 'example.com' for a '*.example.com' certificate: matches exactly one more label */
  readonly wildcard: ReadonlyMap<string, SecureContext>;
}

export interface CertProblem {
  hosts: string[];
  message: string;
}

export const emptySniContexts: SniContexts = Object.freeze({ version: -1, exact: new Map(), wildcard: new Map() });

/**
 * Compiles every entry; an entry whose PEM does not load is reported and skipped, so one broken
 * certificate does not take the others down.
 */
export function compileCerts(certs: readonly CertEntry[], version = 0): { store: SniContexts; problems: CertProblem[] } {
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  const problems: CertProblem[] = [];
  for (const entry of certs) {
    let ctx: SecureContext;
    try {
      ctx = createSecureContext({ ...tlsProfile, cert: entry.certPem, key: entry.keyPem });
    } catch (err) {
      problems.push({ hosts: entry.hosts, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const raw of entry.hosts) {
      const host = raw.toLowerCase();
      if (host.startsWith('*.')) {
        if (!wildcard.has(host.slice(2))) wildcard.set(host.slice(2), ctx);
      } else if (!exact.has(host)) {
        exact.set(host, ctx);
      }
    }
  }
  return { store: Object.freeze({ version, exact, wildcard }), problems };
}

export function selectContext(store: SniContexts, servername: string): SecureContext | undefined {
  const name = servername.toLowerCase();
  const hit = store.exact.get(name);
  if (hit) return hit;
  const dot = name.indexOf('.');
  return dot > 0 ? store.wildcard.get(name.slice(dot + 1)) : undefined;
}
