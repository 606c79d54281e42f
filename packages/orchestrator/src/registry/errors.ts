import { DispenserError, type ErrorCode } from '@dispenser/shared/errors';

export type RegistryErrorCode = Extract<ErrorCode, `REGISTRY_${string}`>;

/**
 * `registry`: the registry as a whole failed (down, DNS, 5xx, rate limit): every service on it
 * backs off. `repository`: only this image is affected (404, 401/403): the next poll retries it.
 */
export type FailureScope = 'registry' | 'repository';

export class RegistryError extends DispenserError {
  readonly scope: FailureScope;
  /** from Retry-After on 429/503 */
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(code: RegistryErrorCode, message: string, options: { scope: FailureScope; status?: number; retryAfterMs?: number; hint?: string; cause?: unknown }) {
    super(code, message, { hint: options.hint, cause: options.cause });
    this.name = 'RegistryError';
    this.scope = options.scope;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
