/**
 * What the orchestrator is doing right now (reconcile passes, redeploys, rollouts), for the log
 * lines of work that has to wait for it ("waiting for the rollout of web to finish").
 */
export class Activities {
  private readonly running = new Map<symbol, string>();

  /** runs `fn`, listed as `what` until it settles */
  async during<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const key = Symbol(what);
    this.running.set(key, what);
    try {
      return await fn();
    } finally {
      this.running.delete(key);
    }
  }

  /** oldest first, each description once */
  list(): string[] {
    return [...new Set(this.running.values())];
  }
}
