import { DispenserError, type ErrorCode } from '@dispenser/shared/errors';

export type CertErrorCode = Extract<ErrorCode, `CERT_${string}`>;

/**
 * Short names for the certificate codes. What each means and what to do is in the error catalogue
 * (@dispenser/shared/errors/catalogue). Every one is reported per host: a problem with one host
 * never stops the others from being served or renewed.
 */
export const CertErrorCode = {
  caUnreachable: 'CERT_CA_UNREACHABLE',
  challengeFailed: 'CERT_CHALLENGE_FAILED',
  invalidEmail: 'CERT_INVALID_EMAIL',
  rateLimited: 'CERT_RATE_LIMITED',
  acmeFailed: 'CERT_ACME_FAILED',
  invalidHost: 'CERT_INVALID_HOST',
  certFileUnreadable: 'CERT_FILE_UNREADABLE',
  keyFileUnreadable: 'CERT_KEY_FILE_UNREADABLE',
  certFileInvalid: 'CERT_FILE_INVALID',
  keyMismatch: 'CERT_KEY_MISMATCH',
  expiring: 'CERT_EXPIRING',
  hostNotCovered: 'CERT_HOST_NOT_COVERED',
  selfSignedFailed: 'CERT_SELF_SIGNED_FAILED',
  selfSignedFallback: 'CERT_SELF_SIGNED_FALLBACK',
  originalImportSkipped: 'CERT_ORIGINAL_IMPORT_SKIPPED',
} as const satisfies Record<string, CertErrorCode>;

export class CertError extends DispenserError {
  /** when the CA said when to come back (Retry-After), in ms from the failure */
  readonly retryAfterMs: number | undefined;
  constructor(code: CertErrorCode, message: string, options?: { cause?: unknown; hint?: string; retryAfterMs?: number }) {
    super(code, message, options);
    this.name = 'CertError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}
