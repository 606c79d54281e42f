import type { Route } from '@dispenser/shared/ipc/messages';

/**
 * Strict-Transport-Security (RFC 6797). The value is built once per route when the table is
 * compiled; a response only appends it, and only over TLS (a browser ignores it on plain HTTP,
 * and sending it there would tell an attacker in the path nothing they could not strip).
 */

export const HSTS = 'strict-transport-security';

export function hstsValue(policy: NonNullable<Route['hsts']>): string {
  return `max-age=${policy.maxAgeSeconds}${policy.includeSubDomains ? '; includeSubDomains' : ''}`;
}

/** Adds the header to a raw [name, value, ...] list unless the upstream already set its own. */
export function withHsts(list: string[], value: string): string[] {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.length === HSTS.length && list[i]!.toLowerCase() === HSTS) return list;
  }
  list.push(HSTS, value);
  return list;
}
