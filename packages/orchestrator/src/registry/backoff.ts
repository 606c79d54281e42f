import type { ErrorCode } from '@dispenser/shared/errors';
import { backoffDelay } from '../backoff.js';

/**
 * Per-registry backoff: pure decisions about when a failing registry is asked again.
 * A registry that fails is skipped for an exponentially growing time (starting at one poll
 * interval), or for as long as its Retry-After says when that is longer.
 */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export interface RegistryHealth {
  failures: number;
  /** epoch ms before which the registry is not asked again */
  until: number;
  /** code of the last failure; undefined when healthy */
  code: ErrorCode | undefined;
}

/**
 * The longest a Retry-After is obeyed: a registry (or a proxy in front of it) answering
 * `Retry-After: 999999` must not stop the watch for days; after this the registry is simply
 * asked again and, if it still refuses, backs off again.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

export const HEALTHY: RegistryHealth = Object.freeze({ failures: 0, until: 0, code: undefined });

/** How long a registry that failed `failures` times in a row is skipped; the cap never undercuts one interval. */
export function failureBackoff(failures: number, policy: BackoffPolicy): number {
  if (failures <= 0) return 0;
  return backoffDelay(failures - 1, policy.baseMs, Math.max(policy.maxMs, policy.baseMs));
}

export interface Transition {
  next: RegistryHealth;
  /** 'failing' when it started failing or the failure changed, 'recovered' when it works again */
  change: 'failing' | 'recovered' | undefined;
}

export function onFailure(prev: RegistryHealth, code: ErrorCode, now: number, policy: BackoffPolicy, retryAfterMs?: number): Transition {
  const failures = prev.failures + 1;
  const wait = Math.max(failureBackoff(failures, policy), Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
  return { next: { failures, until: now + wait, code }, change: prev.code === code ? undefined : 'failing' };
}

export function onSuccess(prev: RegistryHealth): Transition {
  return { next: HEALTHY, change: prev.code === undefined ? undefined : 'recovered' };
}

export function isBackingOff(h: RegistryHealth, now: number): boolean {
  return h.until > now;
}
