import type { ContainerInfo } from '../../src/docker/engine.js';
import type { DigestSource } from '../../src/registry/client.js';
import type { ImageReference } from '../../src/registry/reference.js';
import type { ScheduledJob, Scheduler } from '../../src/cd/scheduler.js';

/** A registry answer per repository: a digest, or an error to throw. */
export class FakeRegistry implements DigestSource {
  readonly answers = new Map<string, string | Error>();
  readonly asked: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  latencyMs = 0;
  async manifestDigest(ref: ImageReference): Promise<string> {
    this.asked.push(ref.repository);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const a = this.answers.get(ref.repository);
      if (a === undefined) throw new Error(`no answer for ${ref.repository}`);
      if (a instanceof Error) throw a;
      return a;
    } finally {
      this.inFlight--;
    }
  }
}

/** A hand-driven clock for cron: tests fire ticks themselves. */
export class FakeScheduler implements Scheduler {
  readonly jobs = new Map<string, { onTick: () => void; cancelled: boolean }>();
  schedule(expression: string, onTick: () => void): ScheduledJob {
    if (expression.startsWith('bad')) throw Object.assign(new Error(`"${expression}" is not a valid cron expression`), { code: 'CRON_INVALID' });
    const job = { onTick, cancelled: false };
    this.jobs.set(expression, job);
    return {
      nextRun: () => (job.cancelled ? undefined : new Date('2030-01-01T00:00:00Z')),
      cancel: () => {
        job.cancelled = true;
      },
    };
  }
  active(): string[] {
    return [...this.jobs].filter(([, j]) => !j.cancelled).map(([e]) => e);
  }
}

/** A container as the engine inspects it: never started unless `state` says so, on the "dispenser" network when `ip` is given. */
export function containerInfo(state: Record<string, unknown>, ip?: string): ContainerInfo {
  return {
    State: { Running: false, StartedAt: '0001-01-01T00:00:00Z', ExitCode: 0, Status: 'created', ...state },
    NetworkSettings: { Networks: ip ? { dispenser: { IPAddress: ip } } : {} },
  } as unknown as ContainerInfo;
}
