import { codeOr, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { FileWatcher } from './cert-files.js';
import { CertError, CertErrorCode } from './errors.js';
import type { CertInfo } from './pem.js';
import type { CertSource, HostPlan } from './plan.js';
import type { RenewalState } from './renewal.js';
import type { StoredCert } from './store.js';

export interface HostProblem {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** One planned host: what it serves now, its last failure and its ACME backoff. */
export interface HostState {
  plan: HostPlan;
  log: Logger;
  current?: StoredCert & { info: CertInfo };
  failures: number;
  retryAt?: Date;
  error?: HostProblem;
  warnings: HostProblem[];
  watcher?: FileWatcher;
}

export function newHostState(plan: HostPlan, log: Logger): HostState {
  return { plan, log: log.child({ host: plan.host, service: plan.services.join(',') }), failures: 0, warnings: [] };
}

/** the same source: a host that keeps it keeps its state (certificate, backoff, watcher) across a reload */
export function sameSource(a: CertSource, b: CertSource): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'files' && b.kind === 'files') return a.certFile === b.certFile && a.keyFile === b.keyFile;
  return true;
}

export function problemOf(err: unknown): HostProblem {
  const hint = err instanceof CertError ? err.hint : undefined;
  return { code: codeOr(err, CertErrorCode.acmeFailed), message: errorMessage(err), ...(hint !== undefined ? { hint } : {}) };
}

/** what renewal.ts decides on */
export function renewalState(s: HostState): RenewalState {
  return {
    failures: s.failures,
    ...(s.current ? { notAfter: s.current.info.notAfter } : {}),
    ...(s.retryAt ? { retryAt: s.retryAt } : {}),
  };
}
