import { DispenserError } from '@dispenser/shared/errors';

/**
 * Stable codes for certificate problems. Every one is reported per host: a problem with one host
 * never stops the others from being served or renewed.
 */
export const CertErrorCode = {
  /** the ACME directory could not be reached or read (network, TLS trust, wrong URL) */
  caUnreachable: 'CERT_CA_UNREACHABLE',
  /** the CA could not validate the HTTP-01 challenge (port 80 not reachable from the CA, DNS) */
  challengeFailed: 'CERT_CHALLENGE_FAILED',
  /** the CA refused the [certbot] email, or it is not an email address */
  invalidEmail: 'CERT_INVALID_EMAIL',
  /** the CA asked us to slow down */
  rateLimited: 'CERT_RATE_LIMITED',
  /** any other ACME failure */
  acmeFailed: 'CERT_ACME_FAILED',
  /** a proxy host that is not a valid DNS name (or that the CA refuses to issue for) */
  invalidHost: 'CERT_INVALID_HOST',
  /** cert_file cannot be read */
  certFileUnreadable: 'CERT_FILE_UNREADABLE',
  /** key_file cannot be read */
  keyFileUnreadable: 'CERT_KEY_FILE_UNREADABLE',
  /** cert_file / key_file content is not a PEM certificate / private key */
  certFileInvalid: 'CERT_FILE_INVALID',
  /** key_file does not belong to cert_file */
  keyMismatch: 'CERT_KEY_MISMATCH',
  /** the certificate has expired or expires within 7 days (warning: it is still served) */
  expiring: 'CERT_EXPIRING',
  /** the certificate does not name the host (warning: it is still served) */
  hostNotCovered: 'CERT_HOST_NOT_COVERED',
  /** an https host without cert_file/key_file or [certbot] is served a self-signed certificate (warning) */
  selfSignedFallback: 'CERT_SELF_SIGNED_FALLBACK',
  /** a certificate the original Rust Dispenser left in .dispenser/certs could not be imported (warning) */
  originalImportSkipped: 'CERT_ORIGINAL_IMPORT_SKIPPED',
  /** dev-mode self-signed generation failed */
  selfSignedFailed: 'CERT_SELF_SIGNED_FAILED',
} as const;
export type CertErrorCode = (typeof CertErrorCode)[keyof typeof CertErrorCode];

export class CertError extends DispenserError {
  /** when the CA said when to come back (Retry-After), in ms from the failure */
  readonly retryAfterMs: number | undefined;
  constructor(code: CertErrorCode, message: string, options?: { cause?: unknown; hint?: string; retryAfterMs?: number }) {
    super(code, message, options);
    this.name = 'CertError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}
