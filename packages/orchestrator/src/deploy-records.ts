import type { DeployFacts, DeployTrigger } from '@dispenser/shared/control/facts';
import { codeOr } from '@dispenser/shared/errors';

/**
 * The last deploy of each service since this orchestrator started (when, what triggered it,
 * whether it worked), for `dispenser status`. In memory: a persistent ledger would replace it.
 */
export class DeployRecords {
  private readonly last = new Map<string, DeployFacts>();
  constructor(private readonly now: () => number = Date.now) {}

  /** runs `fn` and records its outcome; its result or error passes through unchanged */
  async track<T>(service: string, trigger: DeployTrigger, fn: () => Promise<T>): Promise<T> {
    const started = this.now();
    const record = (result: DeployFacts['result'], err?: unknown): void => {
      const finished = this.now();
      this.last.set(service, {
        at: new Date(finished).toISOString(),
        trigger,
        result,
        ...(result === 'failed' ? { code: codeOr(err, 'DEPLOY_FAILED') } : {}),
        durationMs: Math.max(0, finished - started),
      });
    };
    try {
      const value = await fn();
      record('ok');
      return value;
    } catch (err) {
      record('failed', err);
      throw err;
    }
  }

  lastOf(service: string): DeployFacts | undefined {
    return this.last.get(service);
  }
}
