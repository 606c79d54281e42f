import type { DispenserConfig } from '@dispenser/shared/config/types';
import { CertErrorCode } from './errors.js';
import { isValidDnsName } from './names.js';

/** Where a host's certificate comes from. */
export type CertSource =
  | { kind: 'files'; certFile: string; keyFile: string }
  | { kind: 'acme' }
  | { kind: 'self-signed' };

export interface HostPlan {
  /** lower-case host name */
  host: string;
  source: CertSource;
  /** services routed on this host, for log context */
  services: string[];
}

export interface PlanProblem {
  host: string;
  code: CertErrorCode;
  message: string;
  /** warnings do not stop the host from being served */
  severity: 'error' | 'warning';
}

export interface CertPlan {
  hosts: HostPlan[];
  problems: PlanProblem[];
  /** ACME is in use for at least one host */
  acme: boolean;
}

/**
 * Decide the certificate source of every proxy host, purely from the config:
 * - cert_file + key_file on any service routed on the host → those files (in dev mode too: the
 *   user asked for them explicitly);
 * - dev mode → a self-signed certificate;
 * - [certbot] present and strategy not http-only → ACME;
 * - http-only → none;
 * - otherwise (https without a source) → a self-signed certificate, with a warning.
 */
export function planCertificates(config: DispenserConfig, opts: { dev: boolean }): CertPlan {
  const problems: PlanProblem[] = [];
  if (!config.proxy.enabled) return { hosts: [], problems, acme: false };
  const byHost = new Map<string, { services: string[]; files?: { certFile: string; keyFile: string; service: string } }>();
  for (const svc of config.services) {
    if (!svc.proxy) continue;
    const host = svc.proxy.host.toLowerCase();
    const entry = byHost.get(host) ?? { services: [] };
    entry.services.push(svc.name);
    if (svc.proxy.certFile && svc.proxy.keyFile) {
      const files = { certFile: svc.proxy.certFile, keyFile: svc.proxy.keyFile, service: svc.name };
      if (entry.files && (entry.files.certFile !== files.certFile || entry.files.keyFile !== files.keyFile)) {
        problems.push({
          host,
          code: CertErrorCode.certFileInvalid,
          severity: 'warning',
          message: `services ${entry.files.service} and ${svc.name} give different cert_file/key_file for ${host}; using ${entry.files.service}'s`,
        });
      } else {
        entry.files ??= files;
      }
    }
    byHost.set(host, entry);
  }

  const tls = config.proxy.strategy !== 'http-only';
  const useAcme = tls && !opts.dev && config.certbot !== undefined;
  const hosts: HostPlan[] = [];
  for (const [host, entry] of [...byHost].sort(([a], [b]) => a.localeCompare(b))) {
    if (entry.files) {
      hosts.push({ host, services: entry.services, source: { kind: 'files', certFile: entry.files.certFile, keyFile: entry.files.keyFile } });
      continue;
    }
    if (!tls) continue;
    // Without a source the host is still served over TLS, with a self-signed certificate (as the
    // original Dispenser did): a CDN in front that does not verify the origin (Cloudflare "Full")
    // keeps working, and browsers see a warning rather than a refused handshake.
    const fallback = !opts.dev && !useAcme;
    if (!isValidDnsName(host, { singleLabel: opts.dev || fallback })) {
      problems.push({
        host,
        code: CertErrorCode.invalidHost,
        severity: 'error',
        message: `cannot get a certificate for "${host}": not a valid DNS name (letters, digits and hyphens, at least two labels, not an IP address); use cert_file/key_file for it`,
      });
      continue;
    }
    if (fallback) {
      problems.push({
        host,
        code: CertErrorCode.selfSignedFallback,
        severity: 'warning',
        message: `no certificate source for ${host}: serving a self-signed certificate; add [certbot] email to dispenser.toml or cert_file/key_file to the service's [proxy]`,
      });
    }
    hosts.push({ host, services: entry.services, source: opts.dev || fallback ? { kind: 'self-signed' } : { kind: 'acme' } });
  }
  return { hosts, problems, acme: hosts.some((h) => h.source.kind === 'acme') };
}
