import type { ErrorCode } from './errors/catalogue.js';

export type { ErrorCode } from './errors/catalogue.js';

/**
 * Errors with a stable code. Code decides behaviour (and crosses IPC); the message is for people.
 * Only codes of the catalogue (errors/catalogue.ts) are accepted, so each one is documented.
 */
export class DispenserError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DispenserError';
    this.code = code;
    this.hint = options?.hint;
  }
}

/** The `code` of any error, Dispenser's or Node's (`ECONNREFUSED`), hence a plain string. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/**
 * The code to report for any error: a DispenserError's own, else `fallback`. Node's and libraries'
 * codes (`ECONNREFUSED`) stay in the message; a reported code is always one of the catalogue.
 */
export function codeOr(err: unknown, fallback: ErrorCode): ErrorCode {
  return err instanceof DispenserError ? err.code : fallback;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
