/**
 * When to order a certificate: pure decisions, table-tested without I/O or a clock.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;
/** renew when less than this remains (SPEC §6) */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** certificate files: warn when less than this remains */
export const FILE_WARN_BEFORE_MS = 7 * DAY_MS;
/** how often stored certificates are checked against the renewal threshold */
export const CHECK_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Delay before attempt n+1 after n consecutive failures. Grows quickly so a broken setup does not
 * hammer the CA (Let's Encrypt allows 5 failed validations per host per hour), capped at 12 h so a
 * fixed problem is picked up the same day.
 */
export const BACKOFF_SCHEDULE_MS: readonly number[] = [
  60_000, // 1 min
  5 * 60_000,
  15 * 60_000,
  60 * 60_000,
  3 * 60 * 60_000,
  6 * 60 * 60_000,
  12 * 60 * 60_000,
];
/** a rate-limit answer without Retry-After: wait at least this long */
export const RATE_LIMIT_MIN_DELAY_MS = 60 * 60_000;

export interface RenewalState {
  /** notAfter of the certificate currently served for the host, if any */
  notAfter?: Date;
  /** consecutive failed attempts since the last success */
  failures: number;
  /** set after a failure: no attempt before this time */
  retryAt?: Date;
}

export type RenewalDecision =
  | { action: 'order'; reason: 'missing' | 'expiring' | 'expired' }
  | { action: 'wait'; reason: 'valid' | 'backoff'; until: Date };

export function decideRenewal(state: RenewalState, now: Date): RenewalDecision {
  if (state.retryAt && state.retryAt.getTime() > now.getTime()) {
    return { action: 'wait', reason: 'backoff', until: state.retryAt };
  }
  if (!state.notAfter) return { action: 'order', reason: 'missing' };
  const remaining = state.notAfter.getTime() - now.getTime();
  if (remaining <= 0) return { action: 'order', reason: 'expired' };
  if (remaining < RENEW_BEFORE_MS) return { action: 'order', reason: 'expiring' };
  return { action: 'wait', reason: 'valid', until: new Date(state.notAfter.getTime() - RENEW_BEFORE_MS) };
}

/**
 * When to try again after the failures-th consecutive failure (1-based). The CA's Retry-After wins
 * when it asks for longer than our schedule; a rate limit without one waits at least an hour.
 */
export function nextRetryAt(failures: number, now: Date, opts: { retryAfterMs?: number; rateLimited?: boolean } = {}): Date {
  const idx = Math.min(Math.max(failures, 1), BACKOFF_SCHEDULE_MS.length) - 1;
  let delay = BACKOFF_SCHEDULE_MS[idx] ?? 60_000;
  if (opts.rateLimited) delay = Math.max(delay, RATE_LIMIT_MIN_DELAY_MS);
  if (opts.retryAfterMs !== undefined && opts.retryAfterMs > delay) delay = opts.retryAfterMs;
  return new Date(now.getTime() + delay);
}

/** The time the check loop should wake up next: the hourly check, or sooner for a host in backoff. */
export function nextWakeUp(decisions: readonly RenewalDecision[], now: Date, checkIntervalMs = CHECK_INTERVAL_MS): Date {
  let wake = now.getTime() + checkIntervalMs;
  for (const d of decisions) {
    if (d.action === 'wait' && d.until.getTime() < wake) wake = Math.max(d.until.getTime(), now.getTime());
  }
  return new Date(wake);
}
