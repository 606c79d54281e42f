import { errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';

export interface CheckSchedulerOptions {
  /** one renewal check of every host */
  check: () => Promise<void>;
  /** when the next check is due, decided right after one ends */
  nextCheckAt: (now: Date) => Date;
  now: () => Date;
  log: Logger;
  /** aborted when the certificate manager stops: no check starts any more */
  signal: AbortSignal;
}

/** Runs the renewal checks: one at a time, now when kicked, otherwise when the next one is due. */
export class CheckScheduler {
  private loop: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: CheckSchedulerOptions) {}

  /** Start a check now, or right after the running one. */
  kick(): void {
    const { signal } = this.opts;
    if (signal.aborted) return;
    clearTimeout(this.timer);
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = (async () => {
      do {
        this.again = false;
        await this.opts.check().catch((err: unknown) => this.opts.log.error({ err: errorMessage(err) }, 'certificate check failed'));
      } while (this.again && !signal.aborted);
      this.loop = undefined;
      this.schedule();
    })();
  }

  private schedule(): void {
    if (this.opts.signal.aborted) return;
    const now = this.opts.now();
    const wake = this.opts.nextCheckAt(now);
    this.timer = setTimeout(() => this.kick(), Math.max(0, wake.getTime() - now.getTime()));
    this.timer.unref();
  }

  /** resolves once no check is running or queued */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** After the signal aborted: no timer; waits a little for the running check. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    // An order in flight cannot be aborted (acme-client has no signal); its result is dropped.
    await Promise.race([this.loop ?? Promise.resolve(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }
}
