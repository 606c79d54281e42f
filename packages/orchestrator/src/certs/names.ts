import { isIP } from 'node:net';

/**
 * A host name a public CA can issue for: at least two labels, LDH labels of 1–63 characters that
 * do not start or end with a hyphen, 253 characters at most, not an IP address. Wildcards are not
 * accepted because HTTP-01 cannot validate them. `singleLabel` admits `localhost`-style names,
 * which a self-signed certificate can carry but a public CA will not issue for.
 */
export function isValidDnsName(host: string, opts: { singleLabel?: boolean } = {}): boolean {
  if (host.length === 0 || host.length > 253 || isIP(host) !== 0) return false;
  const labels = host.split('.');
  if (labels.length < 2 && !opts.singleLabel) return false;
  return labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** A cheap syntax check so an obvious typo is reported without a round trip to the CA. */
export function isPlausibleEmail(email: string): boolean {
  return /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/.test(email);
}
