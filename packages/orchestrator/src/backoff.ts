/** Exponential backoff delays: base, base*factor, … capped at max. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, factor = 2): number {
  return Math.min(maxMs, Math.round(baseMs * factor ** Math.max(0, attempt)));
}

/** A sleep that ends early (resolving false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
