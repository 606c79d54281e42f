import { CertErrorCode } from './errors.js';

/** The stage of an order a failure happened in; it decides what the failure most likely means. */
export type AcmeStep = 'directory' | 'account' | 'order' | 'challenge' | 'finalize';

export interface AcmeFailureInput {
  step: AcmeStep;
  /** Node / axios error code of a transport failure (ECONNREFUSED, ENOTFOUND, a TLS code...) */
  errorCode?: string;
  message: string;
  /** the ACME problem document the CA answered with, if any */
  problem?: { type: string; detail: string; retryAfterMs?: number };
  host: string;
  directoryUrl: string;
  email: string;
}

export interface AcmeFailure {
  code: CertErrorCode;
  message: string;
  hint?: string;
  retryAfterMs?: number;
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ERR_BAD_RESPONSE']);
const TLS_TRUST = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const ACME = 'urn:ietf:params:acme:error:';

/** Turns what went wrong during an order into a per-host error that says what to do. Pure. */
export function classifyAcmeFailure(f: AcmeFailureInput): AcmeFailure {
  const type = f.problem?.type.startsWith(ACME) ? f.problem.type.slice(ACME.length) : undefined;
  const detail = f.problem?.detail || f.message;
  const retry = f.problem?.retryAfterMs !== undefined ? { retryAfterMs: f.problem.retryAfterMs } : {};

  if (f.errorCode && TLS_TRUST.has(f.errorCode)) {
    return {
      code: CertErrorCode.caUnreachable,
      message: `ACME CA ${f.directoryUrl} is not trusted (${f.errorCode}) while ordering ${f.host}`,
      hint: 'for a private or test CA, start Dispenser with NODE_EXTRA_CA_CERTS=/path/to/ca.pem',
    };
  }
  if (f.errorCode && NETWORK.has(f.errorCode)) {
    return {
      code: CertErrorCode.caUnreachable,
      message: `ACME CA ${f.directoryUrl} is unreachable (${f.errorCode}: ${f.message}) while ordering ${f.host}`,
      hint: 'check [certbot] directory_url and outbound HTTPS from this machine; the current certificate keeps being served',
    };
  }
  if (f.step === 'directory' || /ACME directory/i.test(f.message)) {
    return {
      code: CertErrorCode.caUnreachable,
      message: `cannot read the ACME directory at ${f.directoryUrl}: ${f.message}`,
      hint: 'check [certbot] directory_url: it must be the CA\'s RFC 8555 directory URL',
    };
  }
  switch (type) {
    case 'rateLimited':
      return {
        code: CertErrorCode.rateLimited,
        message: `ACME CA rate limit hit while ordering ${f.host}: ${detail}`,
        hint: 'Dispenser waits as long as the CA asks before trying again',
        ...retry,
      };
    case 'invalidContact':
    case 'unsupportedContact':
      return {
        code: CertErrorCode.invalidEmail,
        message: `the ACME CA refused the [certbot] email "${f.email}": ${detail}`,
        hint: 'set [certbot] email in dispenser.toml to a working address',
      };
    case 'rejectedIdentifier':
    case 'unsupportedIdentifier':
    case 'caa':
      return {
        code: CertErrorCode.invalidHost,
        message: `the ACME CA will not issue for ${f.host}: ${detail}`,
        hint: 'use a public DNS name you control, or cert_file/key_file for this host',
      };
    case 'malformed':
      if (f.step === 'order') {
        return { code: CertErrorCode.invalidHost, message: `the ACME CA rejected ${f.host}: ${detail}`, hint: 'use a valid public DNS name' };
      }
      break;
    case 'connection':
    case 'dns':
    case 'incorrectResponse':
    case 'unauthorized':
    case 'tls':
      return challengeFailure(f, detail);
    default:
      break;
  }
  if (f.step === 'challenge') return challengeFailure(f, detail);
  return {
    code: CertErrorCode.acmeFailed,
    message: `ACME order for ${f.host} failed during ${f.step}: ${detail}`,
    hint: 'Dispenser retries with backoff; the current certificate keeps being served',
    ...retry,
  };
}

function challengeFailure(f: AcmeFailureInput, detail: string): AcmeFailure {
  return {
    code: CertErrorCode.challengeFailed,
    message: `the ACME CA could not validate ${f.host} over HTTP-01: ${detail}`,
    hint: `${f.host} must resolve to this machine and port 80 must reach Dispenser's proxy from the internet`,
  };
}
