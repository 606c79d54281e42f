import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { errorMessage } from '@dispenser/shared/errors';
import { CertError, CertErrorCode } from './errors.js';
import { certificateCoversHost, inspectCertificate, keyMatchesCertificate, parsePrivateKey, type CertInfo } from './pem.js';
import { FILE_WARN_BEFORE_MS } from './renewal.js';

export interface LoadedCertFiles {
  certPem: string;
  keyPem: string;
  info: CertInfo;
  /** problems that do not stop the certificate from being served */
  warnings: { code: CertErrorCode; message: string }[];
}

/**
 * Read and check a cert_file/key_file pair for host. Throws a CertError for anything that makes
 * the pair unusable (unreadable, not PEM, key does not match); expiry and a missing host name are
 * warnings because serving a flawed certificate beats serving none.
 */
export async function loadCertFiles(host: string, certFile: string, keyFile: string, now: Date): Promise<LoadedCertFiles> {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = await readFile(certFile, 'utf8');
  } catch (err) {
    throw new CertError(CertErrorCode.certFileUnreadable, `cannot read cert_file ${certFile} for ${host}: ${errorMessage(err)}`, {
      cause: err,
      hint: 'check the path and that the dispenser user may read it',
    });
  }
  try {
    keyPem = await readFile(keyFile, 'utf8');
  } catch (err) {
    throw new CertError(CertErrorCode.keyFileUnreadable, `cannot read key_file ${keyFile} for ${host}: ${errorMessage(err)}`, {
      cause: err,
      hint: 'check the path and that the dispenser user may read it (keys are often mode 0600 root)',
    });
  }
  let info: CertInfo;
  try {
    info = inspectCertificate(certPem);
  } catch (err) {
    throw new CertError(CertErrorCode.certFileInvalid, `cert_file ${certFile} for ${host} is not a PEM certificate: ${errorMessage(err)}`, { cause: err });
  }
  try {
    parsePrivateKey(keyPem);
  } catch (err) {
    throw new CertError(CertErrorCode.certFileInvalid, `key_file ${keyFile} for ${host} is not an unencrypted PEM private key: ${errorMessage(err)}`, { cause: err });
  }
  if (!keyMatchesCertificate(certPem, keyPem)) {
    throw new CertError(CertErrorCode.keyMismatch, `key_file ${keyFile} does not belong to cert_file ${certFile} (${host})`, {
      hint: 'point key_file at the private key the certificate was issued for',
    });
  }
  const warnings: LoadedCertFiles['warnings'] = [];
  const remaining = info.notAfter.getTime() - now.getTime();
  if (remaining <= 0) {
    warnings.push({ code: CertErrorCode.expiring, message: `cert_file ${certFile} for ${host} expired on ${info.notAfter.toISOString()}; replace it` });
  } else if (remaining < FILE_WARN_BEFORE_MS) {
    warnings.push({ code: CertErrorCode.expiring, message: `cert_file ${certFile} for ${host} expires on ${info.notAfter.toISOString()}; replace it soon` });
  }
  if (!certificateCoversHost(certPem, host)) {
    warnings.push({ code: CertErrorCode.hostNotCovered, message: `cert_file ${certFile} does not name ${host} (it names ${info.dnsNames.join(', ') || 'no DNS names'})` });
  }
  return { certPem, keyPem, info, warnings };
}

/**
 * Calls onChange (debounced) when any of the files is written, replaced or removed. The
 * directories are watched rather than the files because tools replace certificates by renaming a
 * new file over the old one, which a watch on the old inode would never see.
 */
export class FileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(files: readonly string[], onChange: () => void, onError: (err: unknown) => void, debounceMs = 200) {
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      names.add(basename(f));
      byDir.set(dirname(f), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename !== null && !names.has(filename.toString())) return;
          clearTimeout(this.timer);
          this.timer = setTimeout(onChange, debounceMs);
        });
        w.on('error', onError);
        this.watchers.push(w);
      } catch (err) {
        onError(err);
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
