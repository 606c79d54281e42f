import type { DeployFacts, DeployTrigger } from '@dispenser/shared/control/facts';
import { codeOr } from '@dispenser/shared/errors';
import type { LedgerEntry } from '@dispenser/shared/ledger/entry';
import type { Ledger } from './ledger.js';

export interface DeployRecordsOptions {
  ledger: Ledger;
  /** the registry digest the service's container runs now (Services.runningImageDigest) */
  digestOf: (service: string) => Promise<string | undefined>;
  now?: () => number;
}

/**
 * Records every deploy and cron job run in the ledger (ledger.ts): when, what triggered it, the
 * digest before and after, whether it worked. `dispenser status` shows each service's last
 * deploy from here, read back from the ledger after a restart.
 */
export class DeployRecords {
  private last: Map<string, DeployFacts> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: DeployRecordsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** runs `fn` and records its outcome; its result or error passes through unchanged */
  async track<T>(service: string, trigger: DeployTrigger, fn: () => Promise<T>): Promise<T> {
    const started = this.now();
    const oldDigest = await this.digest(service);
    const record = async (result: LedgerEntry['result'], err?: unknown): Promise<void> => {
      const finished = this.now();
      this.record({
        at: new Date(finished).toISOString(),
        service,
        kind: 'deploy',
        trigger,
        result,
        ...(result === 'failed' ? { code: codeOr(err, 'DEPLOY_FAILED') } : {}),
        durationMs: Math.max(0, finished - started),
        oldDigest,
        newDigest: await this.digest(service),
      });
    };
    try {
      const value = await fn();
      await record('ok');
      return value;
    } catch (err) {
      await record('failed', err);
      throw err;
    }
  }

  /** a cron run of a batch job ended with `exitCode` after `durationMs` */
  async jobRun(service: string, run: { exitCode: number; durationMs: number }): Promise<void> {
    const digest = await this.digest(service);
    this.record({
      at: new Date(this.now()).toISOString(),
      service,
      kind: 'job',
      trigger: 'cron',
      result: run.exitCode === 0 ? 'ok' : 'failed',
      durationMs: Math.max(0, Math.round(run.durationMs)),
      oldDigest: digest,
      newDigest: digest,
      exitCode: run.exitCode,
    });
  }

  lastOf(service: string): DeployFacts | undefined {
    return this.lastDeploys().get(service);
  }

  private record(entry: LedgerEntry): void {
    this.opts.ledger.append(entry);
    if (entry.kind === 'deploy') this.lastDeploys().set(entry.service, factsOf(entry));
  }

  /** the last deploy per service, read from the ledger once: what happened before a restart */
  private lastDeploys(): Map<string, DeployFacts> {
    if (!this.last) {
      this.last = new Map();
      for (const e of this.opts.ledger.entries()) if (e.kind === 'deploy') this.last.set(e.service, factsOf(e));
    }
    return this.last;
  }

  private async digest(service: string): Promise<string | null> {
    try {
      return (await this.opts.digestOf(service)) ?? null;
    } catch {
      // an unknown digest is recorded as such; the deploy does not depend on it
      return null;
    }
  }
}

function factsOf(e: LedgerEntry): DeployFacts {
  return { at: e.at, trigger: e.trigger, result: e.result, ...(e.code !== undefined ? { code: e.code } : {}), durationMs: e.durationMs };
}
