import type { HostProblem, HostState } from './host-state.js';
import type { CertSource, PlanProblem } from './plan.js';

export interface HostCertStatus {
  host: string;
  source: CertSource['kind'] | 'none';
  /** the certificate served now, if any */
  notAfter?: Date;
  issuer?: string;
  /** the last failure (ACME order, file load, plan); cleared by the next success */
  error?: HostProblem;
  warnings: HostProblem[];
  /** ACME: consecutive failures and when the next attempt is due */
  failures: number;
  retryAt?: Date;
}

/** Pure: every host's certificate status for `dispenser status`, plan problems included, by host name. */
export function hostStatuses(hosts: Iterable<HostState>, planProblems: readonly PlanProblem[]): HostCertStatus[] {
  const out: HostCertStatus[] = [...hosts].map((s) => ({
    host: s.plan.host,
    source: s.plan.source.kind,
    failures: s.failures,
    warnings: s.warnings,
    ...(s.current ? { notAfter: s.current.info.notAfter, issuer: s.current.info.issuer } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(s.retryAt ? { retryAt: s.retryAt } : {}),
  }));
  for (const p of planProblems) {
    const existing = out.find((o) => o.host === p.host);
    const problem = { code: p.code, message: p.message };
    if (existing) existing.warnings = [...existing.warnings, problem];
    else out.push({ host: p.host, source: 'none', failures: 0, warnings: p.severity === 'warning' ? [problem] : [], ...(p.severity === 'error' ? { error: problem } : {}) });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host));
}
