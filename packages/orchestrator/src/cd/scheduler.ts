import schedule from 'node-schedule';
import { parseCron, type CronSchedule } from '@dispenser/shared/config/cron';
import { DispenserError } from '@dispenser/shared/errors';

export interface ScheduledJob {
  /** next time the job fires; undefined when it never will again */
  nextRun(): Date | undefined;
  cancel(): void;
}

/** The clock behind cron: node-schedule in production, a hand-driven fake in tests. */
export interface Scheduler {
  /** throws CRON_INVALID for an expression it cannot schedule */
  schedule(expression: string, onTick: () => void): ScheduledJob;
}

/**
 * Every form the config accepts (config/cron.ts: 5, 6 or 7 fields, macros), in the host's time
 * zone. The next firing is computed by the same code that validated the expression, and
 * node-schedule only waits for that one date: it cannot read a year field itself.
 */
export const nodeScheduler: Scheduler = {
  schedule(expression, onTick) {
    const parsed = parseCron(expression);
    if (!parsed.ok) {
      throw new DispenserError('CRON_INVALID', `"${expression}" is not a valid cron expression: expected ${parsed.expected}`, { hint: 'fix [dispenser] cron in service.toml; dispenser --test points at it' });
    }
    return new ChainedJob(parsed.schedule, onTick);
  },
};

class ChainedJob implements ScheduledJob {
  private job: schedule.Job | null = null;
  private next: Date | undefined;
  private cancelled = false;

  constructor(
    private readonly cron: CronSchedule,
    private readonly onTick: () => void,
  ) {
    this.arm(new Date());
  }

  private arm(after: Date): void {
    this.next = this.cron.next(after);
    if (this.next === undefined || this.cancelled) return;
    const at = this.next;
    const fire = (): void => {
      if (this.cancelled) return;
      // from the planned time, or from now when the timer ran late: never fire twice for one slot
      this.arm(new Date(Math.max(at.getTime(), Date.now())));
      this.onTick();
    };
    this.job = schedule.scheduleJob(at, fire);
    // node-schedule drops a date already past (the slot can be a millisecond away): it is due now
    if (!this.job) setImmediate(fire);
  }

  nextRun(): Date | undefined {
    return this.next;
  }

  cancel(): void {
    this.cancelled = true;
    this.job?.cancel();
    this.job = null;
  }
}
