import { Piscina } from 'piscina';
import type { SelfSignedResult, SelfSignedTask } from './self-signed-worker.js';
import { inspectCertificate } from './pem.js';
import { RENEW_BEFORE_MS, DAY_MS } from './renewal.js';
import type { CertStore, StoredCert } from './store.js';

/** Dev certificates live one year; regenerated when less than 30 days remain. */
const VALIDITY_MS = 365 * DAY_MS;

/**
 * Dev-mode certificates: one self-signed EC/SHA-256 certificate per host, generated on a piscina
 * worker and cached in its own store so a restart of `dispenser dev` serves the same certificate
 * (a browser exception the developer accepted keeps working).
 */
export class SelfSignedIssuer {
  private pool: Piscina<SelfSignedTask, SelfSignedResult> | undefined;

  constructor(private readonly cache: CertStore) {}

  async get(host: string, now: Date): Promise<StoredCert> {
    const cached = await this.cache.load(host);
    if (cached) {
      const info = inspectCertificate(cached.certPem);
      if (info.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS && info.dnsNames.includes(host)) return cached;
    }
    this.pool ??= new Piscina<SelfSignedTask, SelfSignedResult>({
      filename: new URL('./self-signed-worker.js', import.meta.url).href,
      maxThreads: 1,
      idleTimeout: 5_000,
    });
    const fresh = await this.pool.run({ host, notBefore: now.getTime() - 60_000, notAfter: now.getTime() + VALIDITY_MS });
    await this.cache.save(host, fresh);
    return fresh;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}
