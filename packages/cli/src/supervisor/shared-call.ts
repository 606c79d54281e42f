/**
 * Calls `fn` once for all callers that ask while a call is under way: they all get its result.
 * A status costs the orchestrator a Docker inspect per service; a client pipelining thousands of
 * `status` requests (or many `--watch`ers) must cost one at a time, not queue up thousands.
 */
export function sharedCall<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}
