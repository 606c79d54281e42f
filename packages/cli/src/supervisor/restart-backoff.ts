/**
 * When to restart a child that died. Pure: the caller passes how long the child ran.
 * A child that ran longer than `stableAfterMs` is considered healthy again, so one crash after a
 * long run restarts quickly; a crash loop doubles the delay up to `maxMs`, so it never spins.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  stableAfterMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 250, maxMs: 30_000, stableAfterMs: 30_000 };

export class RestartBackoff {
  private failures = 0;
  constructor(private readonly options: BackoffOptions = defaultBackoff) {}

  /** Delay before the next start of a child that just died after running `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.options.stableAfterMs) this.failures = 0;
    const delay = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.failures);
    this.failures += 1;
    return delay;
  }

  /** Consecutive quick failures so far (0 after a stable run). */
  get attempts(): number {
    return this.failures;
  }
}
