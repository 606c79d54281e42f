import type { DispenserConfig } from '@dispenser/shared/config/types';
import { createLogger, type Logger } from '@dispenser/shared/log';
import type { Component, Deployer, JobRunRecorder } from '../contracts.js';
import type { EventSink } from '../notify/events.js';
import { RegistryClient, type DigestSource } from '../registry/client.js';
import { DockerCredentials } from '../registry/credentials.js';
import { CronRunner } from './cron-runner.js';
import { InFlight } from './in-flight.js';
import { nodeScheduler, type Scheduler } from './scheduler.js';
import { targetsOf } from './targets.js';
import { DigestWatcher } from './watcher.js';

export interface ContinuousDeploymentDeps {
  deployer: Deployer;
  /** where ended cron runs of batch jobs are recorded */
  jobRuns?: JobRunRecorder;
  log?: Logger;
  /** default: a RegistryClient with the Docker credentials of the user running Dispenser */
  registry?: DigestSource;
  scheduler?: Scheduler;
  /** registry lookups in flight at once per registry; default 8 */
  concurrency?: number;
  now?: () => number;
  random?: () => number;
  /** cron-failed and registry-auth-failed are told here */
  events?: EventSink;
}

export interface ContinuousDeployment extends Component {
  /** one registry poll now, for tests and `dispenser` commands; resolves when it is done */
  pollNow(): Promise<void>;
  /** resolves when no redeploy started by the watcher is running */
  idle(): Promise<void>;
}

/**
 * The registry watcher and the cron scheduler, started after the first reconcile. update()
 * takes each newly loaded config and adds or removes watched services and cron jobs.
 */
export function startContinuousDeployment(config: DispenserConfig, deps: ContinuousDeploymentDeps): ContinuousDeployment {
  const log = (deps.log ?? createLogger('orchestrator')).child({ module: 'cd' });
  const ownClient = deps.registry === undefined ? new RegistryClient({ credentials: new DockerCredentials() }) : undefined;
  const registry = deps.registry ?? (ownClient as RegistryClient);
  const inFlight = new InFlight();
  const watcher = new DigestWatcher({
    deployer: deps.deployer,
    registry,
    log,
    inFlight,
    delayMs: config.delayMs,
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.concurrency !== undefined ? { concurrency: deps.concurrency } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const cron = new CronRunner({ deployer: deps.deployer, scheduler: deps.scheduler ?? nodeScheduler, log, inFlight, ...(deps.jobRuns ? { jobRuns: deps.jobRuns } : {}), ...(deps.now ? { now: deps.now } : {}), ...(deps.events ? { events: deps.events } : {}) });
  const reported = new Set<string>();

  const apply = (cfg: DispenserConfig): void => {
    const targets = targetsOf(cfg);
    for (const u of targets.unwatchable) {
      const key = `${u.service}|${u.image}`;
      if (!reported.has(key)) log.warn({ service: u.service, image: u.image }, `not watching the registry: ${u.why}`);
      reported.add(key);
    }
    watcher.setTargets(targets.watch, cfg.delayMs);
    cron.setTargets(targets.cron);
  };

  apply(config);
  const watched = targetsOf(config).watch.length;
  log.info({ watched, delayMs: config.delayMs }, watched > 0 ? `watching ${watched} service(s) every ${config.delayMs / 1000} s` : 'no watched services');
  watcher.start();

  let stopping: Promise<void> | undefined;
  return {
    async update(cfg) {
      if (!stopping) apply(cfg);
    },
    stop() {
      stopping ??= (async () => {
        await cron.stop();
        await watcher.stop();
        await inFlight.settled();
        await ownClient?.close();
      })();
      return stopping;
    },
    pollNow: () => watcher.pollOnce(),
    statusSource: {
      availableDigest: (service) => watcher.availableDigest(service),
      nextRun: (service) => cron.nextRun(service),
    },
    idle: () => watcher.idle(),
  };
}
