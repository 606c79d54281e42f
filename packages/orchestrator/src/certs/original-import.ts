import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateCoversHost, inspectCertificate, keyMatchesCertificate } from './pem.js';
import type { CertStore, StoredCert } from './store.js';

/**
 * Certificates the original Rust Dispenser obtained live in the same state directory, as
 * `.dispenser/certs/<host>.crt` and `<host>.key` (ours are `certs/<host>/fullchain.pem`). Taking
 * them over on first start keeps a migration from re-ordering every certificate at once against
 * the CA's rate limits.
 */
export function originalCertPaths(store: CertStore, host: string): { certFile: string; keyFile: string } {
  store.dir(host); // throws for a host name that is not storable
  const base = join(store.root, host.toLowerCase());
  return { certFile: `${base}.crt`, keyFile: `${base}.key` };
}

export type ImportVerdict = { ok: true } | { ok: false; reason: string };

/** Pure: whether a pair left by the original may be served for `host` at `now`. */
export function judgeOriginalCert(certPem: string, keyPem: string, host: string, now: Date): ImportVerdict {
  let info;
  try {
    info = inspectCertificate(certPem);
  } catch {
    return { ok: false, reason: 'the .crt file is not a PEM certificate' };
  }
  try {
    if (!keyMatchesCertificate(certPem, keyPem)) return { ok: false, reason: 'the .key file does not belong to the certificate' };
  } catch {
    return { ok: false, reason: 'the .key file is not a PEM private key' };
  }
  if (!certificateCoversHost(certPem, host)) return { ok: false, reason: `the certificate does not name ${host}` };
  if (info.notAfter.getTime() <= now.getTime()) return { ok: false, reason: `the certificate expired on ${info.notAfter.toISOString()}` };
  // the original's fallback and test certificates were self-signed: never pass one off as a CA's
  if (info.selfSigned) return { ok: false, reason: 'the certificate is self-signed' };
  return { ok: true };
}

export type ImportResult = { imported: StoredCert } | { skipped: string } | undefined;

/**
 * Copies the original's pair for `host` into the store when it is valid. undefined when the
 * original left nothing for the host; `skipped` with the reason when it left something unusable
 * (the files stay where they are either way).
 */
export async function importOriginalCert(store: CertStore, host: string, now: Date): Promise<ImportResult> {
  const { certFile, keyFile } = originalCertPaths(store, host);
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { skipped: `cannot read ${certFile} / ${keyFile}: ${(err as Error).message}` };
  }
  const verdict = judgeOriginalCert(certPem, keyPem, host, now);
  if (!verdict.ok) return { skipped: verdict.reason };
  const pair = { certPem, keyPem };
  await store.save(host, pair);
  return { imported: pair };
}
