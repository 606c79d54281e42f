import { errorMessage } from '@dispenser/shared/errors';
import { FileWatcher, loadCertFiles } from './cert-files.js';
import { CertErrorCode } from './errors.js';
import { problemOf, type HostState } from './host-state.js';
import { importOriginalCert } from './original-import.js';
import { inspectCertificate } from './pem.js';
import type { SelfSignedIssuer } from './self-signed.js';
import type { CertStore, StoredCert } from './store.js';

export interface CertLoaderOptions {
  /** ACME certificates issued before */
  store: CertStore;
  /** `dispenser dev` */
  selfSigned: SelfSignedIssuer;
  now: () => Date;
  /** cert_file changes are picked up this long after the last write (FileWatcher's default) */
  fileDebounceMs?: number;
}

/**
 * What a host can serve without asking a CA: a stored ACME certificate (or one the original
 * Dispenser left), its files, a self-signed one.
 */
export class CertLoader {
  constructor(private readonly opts: CertLoaderOptions) {}

  /** The certificate a newly planned host serves at once, if any; never throws (a failure is the host's error). */
  async initial(state: HostState): Promise<void> {
    const { source, host } = state.plan;
    switch (source.kind) {
      case 'acme': {
        const stored = (await this.opts.store.load(host)) ?? (await this.importOriginal(state));
        if (stored) {
          state.current = { ...stored, info: inspectCertificate(stored.certPem) };
          state.log.info({ notAfter: state.current.info.notAfter.toISOString() }, 'loaded stored certificate');
        }
        return;
      }
      case 'files':
        await this.files(state);
        return;
      case 'self-signed':
        try {
          const cert = await this.opts.selfSigned.get(host, this.opts.now());
          state.current = { ...cert, info: inspectCertificate(cert.certPem) };
          state.error = undefined;
        } catch (err) {
          state.error = { code: CertErrorCode.selfSignedFailed, message: `cannot make a self-signed certificate for ${host}: ${errorMessage(err)}` };
          state.log.error({ code: state.error.code }, state.error.message);
        }
        return;
    }
  }

  /** A certificate the original Rust Dispenser left for this host, taken over when still good. */
  private async importOriginal(state: HostState): Promise<StoredCert | undefined> {
    const host = state.plan.host;
    try {
      const result = await importOriginalCert(this.opts.store, host, this.opts.now());
      if (result === undefined) return undefined;
      if ('imported' in result) {
        state.log.info(`imported the certificate the original Dispenser obtained for ${host}`);
        return result.imported;
      }
      state.log.warn({ code: CertErrorCode.originalImportSkipped }, `not importing the original Dispenser's certificate for ${host}: ${result.skipped}; a new one is ordered`);
    } catch (err) {
      state.log.warn({ code: CertErrorCode.originalImportSkipped }, `cannot import the original Dispenser's certificate for ${host}: ${errorMessage(err)}; a new one is ordered`);
    }
    return undefined;
  }

  /** Reads a host's cert_file and key_file; true when loaded. On failure the previous certificate stays. */
  async files(state: HostState): Promise<boolean> {
    const { source, host } = state.plan;
    if (source.kind !== 'files') return false;
    try {
      const loaded = await loadCertFiles(host, source.certFile, source.keyFile, this.opts.now());
      state.current = { certPem: loaded.certPem, keyPem: loaded.keyPem, info: loaded.info };
      state.error = undefined;
      state.warnings = loaded.warnings;
      for (const w of loaded.warnings) state.log.warn({ code: w.code }, w.message);
      return true;
    } catch (err) {
      state.error = problemOf(err);
      state.log.error({ code: state.error.code, hint: state.error.hint }, state.current ? `${state.error.message}; still serving the previous certificate` : state.error.message);
      return false;
    }
  }

  /** Watches a files host's cert_file and key_file: `onChange` after writes settle. */
  watch(state: HostState, onChange: () => void): FileWatcher | undefined {
    const { source } = state.plan;
    if (source.kind !== 'files') return undefined;
    return new FileWatcher(
      [source.certFile, source.keyFile],
      onChange,
      (err) => state.log.warn({ err: errorMessage(err) }, 'cannot watch certificate files; changes need a reload (SIGHUP)'),
      this.opts.fileDebounceMs,
    );
  }
}
