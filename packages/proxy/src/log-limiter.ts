/**
 * Caps how many lines of one kind a worker writes per window, so a flood of failing requests
 * cannot fill the journal: the first `perWindow` lines of each window are written, the rest are
 * counted and reported as one line when the next line of that kind is allowed through. Pure apart
 * from the clock it is given.
 */
export class LogLimiter {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Whether to write this line; `suppressedBefore` is how many lines were held back since the
   * last one written (to mention on this one).
   */
  take(): { write: boolean; suppressedBefore: number } {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.written = 0;
    }
    if (this.written >= this.perWindow) {
      this.suppressed++;
      return { write: false, suppressedBefore: 0 };
    }
    this.written++;
    const suppressedBefore = this.suppressed;
    this.suppressed = 0;
    return { write: true, suppressedBefore };
  }
}

/** One LogLimiter per key (a service), so a flood about one cannot hide lines about another. */
export class KeyedLogLimiter {
  private readonly byKey = new Map<string, LogLimiter>();

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(key: string): { write: boolean; suppressedBefore: number } {
    let limiter = this.byKey.get(key);
    if (!limiter) this.byKey.set(key, (limiter = new LogLimiter(this.perWindow, this.windowMs, this.now)));
    return limiter.take();
  }
}
