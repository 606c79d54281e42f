import type { Logger } from '@dispenser/shared/log';
import { codeOr, errorMessage } from '@dispenser/shared/errors';
import type { Deployer, JobRunRecorder } from '../contracts.js';
import type { EventSink } from '../notify/events.js';
import type { InFlight } from './in-flight.js';
import type { ScheduledJob, Scheduler } from './scheduler.js';
import type { CronTarget } from './targets.js';
import { orchestratorMetrics } from '../metrics.js';

export interface CronRunnerOptions {
  deployer: Deployer;
  scheduler: Scheduler;
  log: Logger;
  inFlight: InFlight;
  /** where each ended run of a batch job is recorded (`dispenser history`) */
  jobRuns?: JobRunRecorder;
  now?: () => number;
  /** cron-failed is told here */
  events?: EventSink;
}

interface Job {
  target: CronTarget;
  handle: ScheduledJob;
  /** the current run (redeploy, then for a batch job waiting for its exit) */
  run: Promise<void> | undefined;
}

/**
 * Runs services on cron schedules. A batch job (`watch = false`) whose previous run is still
 * going is skipped; a long-running service (`watch = true`) is restarted on every tick.
 */
export class CronRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: CronRunnerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Adds, reschedules and removes jobs to match the config; a run in progress is left to finish. */
  setTargets(targets: readonly CronTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.service, t]));
    for (const [service, job] of this.jobs) {
      const t = wanted.get(service);
      if (!t || t.cron !== job.target.cron) {
        job.handle.cancel();
        this.jobs.delete(service);
        if (!t) this.log(service).info({}, 'cron schedule removed');
      } else {
        job.target = t;
      }
    }
    for (const t of targets) {
      if (this.jobs.has(t.service) || this.stopped) continue;
      let handle: ScheduledJob;
      try {
        handle = this.options.scheduler.schedule(t.cron, () => {
          this.tick(t.service).catch((err: unknown) => this.log(t.service).error({ code: codeOr(err, 'CRON_FAILED') }, `cron tick failed unexpectedly: ${errorMessage(err)}`));
        });
      } catch (err) {
        this.log(t.service).error({ cron: t.cron, code: codeOr(err, 'CRON_INVALID') }, `cannot schedule: ${errorMessage(err)}`);
        continue;
      }
      const job: Job = { target: t, handle, run: undefined };
      this.jobs.set(t.service, job);
      this.log(t.service).info({ cron: t.cron, nextRun: handle.nextRun()?.toISOString() ?? null }, 'cron scheduled');
    }
  }

  /** when the service's cron job fires next; undefined without one */
  nextRun(service: string): Date | undefined {
    return this.jobs.get(service)?.handle.nextRun();
  }

  private log(service: string): Logger {
    return this.options.log.child({ service });
  }

  /** One cron tick for a service; exposed so tests can drive it without a clock. */
  async tick(service: string): Promise<void> {
    const job = this.jobs.get(service);
    if (!job || this.stopped) return;
    const log = this.log(service);
    const t = job.target;
    if (this.options.inFlight.has(service) || (t.restart && job.run !== undefined)) {
      log.warn({ cron: t.cron }, t.restart ? 'cron tick skipped: the previous restart is still in progress' : 'cron tick skipped: the previous run is still starting');
      return;
    }
    if (!t.restart) {
      // Ask the engine rather than trusting our own bookkeeping: a run left over from before a
      // restart of Dispenser counts as still going, and a run whose exit we missed does not.
      let running = false;
      try {
        running = await this.options.deployer.isRunning(service);
      } catch (err) {
        log.warn({ code: codeOr(err, 'DOCKER_ERROR') }, `cannot tell whether the previous run is still going: ${errorMessage(err)}`);
      }
      if (running) {
        log.warn({ cron: t.cron }, 'cron tick skipped: the previous run is still going');
        return;
      }
      if (this.options.inFlight.has(service)) return;
    }
    const run = this.run(job);
    job.run = run;
    try {
      await run;
    } finally {
      if (job.run === run) job.run = undefined;
      if (this.jobs.get(service) === job && !this.stopped) log.info({ nextRun: job.handle.nextRun()?.toISOString() ?? null }, 'next cron run');
    }
  }

  private async run(job: Job): Promise<void> {
    const t = job.target;
    const log = this.log(t.service);
    const started = this.now();
    log.info({ cron: t.cron, pull: t.pull === 'always' }, t.restart ? 'cron: restarting service' : 'cron: starting run');
    try {
      await this.options.inFlight.track(t.service, this.options.deployer.redeploy(t.service, { reason: 'cron', pull: t.pull === 'always' }));
    } catch (err) {
      const code = codeOr(err, 'DEPLOY_FAILED');
      const message = `cron run of ${t.service} could not start: ${errorMessage(err)}`;
      log.error({ code, durationMs: this.now() - started }, message);
      this.options.events?.emit({ event: 'cron-failed', service: t.service, code, message, details: { cron: t.cron } });
      orchestratorMetrics.cronRun(t.service, 'failure');
      return;
    }
    if (t.restart) {
      log.info({ durationMs: this.now() - started }, 'cron: service restarted');
      orchestratorMetrics.cronRun(t.service, 'success');
      return;
    }
    try {
      const exitCode = await this.options.deployer.waitForExit(t.service);
      const fields = { exitCode, durationMs: this.now() - started };
      if (exitCode === 0) log.info(fields, 'cron run finished');
      else {
        log.warn(fields, `cron run exited with code ${exitCode}`);
        this.options.events?.emit({ event: 'cron-failed', service: t.service, message: `cron run of ${t.service} exited with code ${exitCode}`, details: { cron: t.cron, ...fields } });
      }
      orchestratorMetrics.cronRun(t.service, exitCode === 0 ? 'success' : 'failure');
      await this.options.jobRuns?.jobRun(t.service, fields);
    } catch (err) {
      orchestratorMetrics.cronRun(t.service, 'failure');
      log.error({ code: codeOr(err, 'DOCKER_ERROR'), durationMs: this.now() - started }, `cannot wait for the cron run to finish: ${errorMessage(err)}`);
    }
  }

  /** Cancels every schedule; a run in progress is not killed, and this resolves once none is being started. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs.values()) job.handle.cancel();
    this.jobs.clear();
  }
}
