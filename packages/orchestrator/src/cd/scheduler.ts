import schedule from 'node-schedule';
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

/** 5-field (minute precision) or 6-field (with seconds) cron expressions, in the host's time zone. */
export const nodeScheduler: Scheduler = {
  schedule(expression, onTick) {
    // node-schedule returns null for an expression it cannot parse instead of throwing.
    const job = schedule.scheduleJob(expression, onTick);
    if (!job) {
      throw new DispenserError('CRON_INVALID', `"${expression}" is not a valid cron expression`, {
        hint: 'use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first',
      });
    }
    return {
      nextRun() {
        const next = job.nextInvocation() as unknown as { toDate?: () => Date } | Date | null;
        if (!next) return undefined;
        return next instanceof Date ? next : next.toDate?.();
      },
      cancel() {
        job.cancel();
      },
    };
  },
};
