import type { DispenserConfig, ServiceConfig, ServiceDispenserConfig } from '@dispenser/shared/config/types';
import type { DigestSource } from '../../src/registry/client.js';
import type { ImageReference } from '../../src/registry/reference.js';
import type { ScheduledJob, Scheduler } from '../../src/cd/scheduler.js';
import { config as baseConfig, service as baseService } from '../fixtures.js';

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

/** A watched service under /srv: the shared fixture with what the CD tests need. */
export function service(name: string, image: string, dispenser: Partial<ServiceDispenserConfig> = {}): ServiceConfig {
  return baseService(name, {
    dir: `/srv/${name}`,
    file: `/srv/${name}/service.toml`,
    image,
    dispenser: { watch: true, initialize: 'immediately', pull: 'on-startup', strategy: 'recreate', ...dispenser },
  });
}

export function config(services: ServiceConfig[], delayMs = 60_000): DispenserConfig {
  return baseConfig(services, {
    configFile: '/srv/dispenser.toml',
    baseDir: '/srv',
    stateDir: '/srv/.dispenser',
    delayMs,
    proxy: { enabled: false, strategy: 'http-only', trustForwardedHeaders: false, httpPort: 80, httpsPort: 443, bind: '127.0.0.1', workers: 1, accessLog: false, connectTimeoutMs: 1000, upstreamTimeoutMs: 1000, shutdownTimeoutMs: 1000, headerTimeoutMs: 60_000, keepaliveTimeoutMs: 75_000, bodyTimeoutMs: 60_000, sendTimeoutMs: 60_000, http2IdleTimeoutMs: 75_000 },
  });
}
