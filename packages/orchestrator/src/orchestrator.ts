import type { DispenserConfig } from '@dispenser/shared/config/types';
import { instanceFromEnv, LABELS, type InstanceIdentity } from '@dispenser/shared/instance';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { Activities } from './activities.js';
import type { ServiceFacts } from '@dispenser/shared/control/facts';
import type { DeployReason, Deployer, JobRunRecorder, ProxyPublisher, StatusSource } from './contracts.js';
import { streamServiceLogs, type LogChunk } from './control/logs.js';
import { gatherServiceFacts } from './control/status-facts.js';
import { DeployRecords } from './deploy-records.js';
import { ServiceDeployer } from './deployer.js';
import { pullAuthSource } from './docker/pull-auth.js';
import type { ContainerEngine, EngineEvent, LogOptions, PullAuth } from './docker/engine.js';
import { EngineEventStream } from './docker/event-stream.js';
import { IntendedStops, recordingStops } from './docker/intended-stops.js';
import { ExitReporter } from './exit-reporter.js';
import { KeyedLock } from './keyed-lock.js';
import { DeployEvents } from './notify/deploy-events.js';
import { NO_EVENTS, type EventSink } from './notify/events.js';
import { StateDirLedger, type Ledger } from './ledger.js';
import { Applier } from './reconcile/apply.js';
import { ReconcileLoop, type ReconcileMode, type ReconcileResult } from './reconcile/loop.js';
import { RoutePublisher } from './route-publisher.js';
import type { FailedRollout } from './rollout/failures.js';
import { RolloutFiles } from './rollout/files.js';
import { InterruptedRollouts } from './rollout/interrupted.js';
import { RolloutRunner } from './rollout/runner.js';
import { Services } from './services.js';

export interface OrchestratorOptions {
  engine: ContainerEngine;
  publisher: ProxyPublisher;
  log: Logger;
  /** default: from DISPENSER_INSTANCE */
  instance?: InstanceIdentity;
  /** labels added to every container and network (tests: dispenser.test=<area>) */
  extraLabels?: Readonly<Record<string, string>>;
  pullAuth?: (image: string) => Promise<PullAuth | undefined>;
  dependencyTimeoutMs?: number;
  stopTimeoutS?: number;
  /** retry of failed services / an unreachable daemon: base and cap of the backoff */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how long to wait for the proxy to confirm a route table before logging and going on */
  publishTimeoutMs?: number;
  /** where deploys are recorded; default: `.dispenser/ledger.jsonl` in the config's state directory */
  ledger?: Ledger;
  /** `dispenser dev`: only some services are loaded; never remove the containers of the others */
  partial?: boolean;
  /** deploys and unexpected exits are told here ([[notify]]); default: nowhere */
  events?: EventSink;
}

export type { FailedRollout, ReconcileResult };

/** container events settle for this long before the route table is computed again */
const ROUTES_REFRESH_DELAY_MS = 200;

/**
 * Keeps the declared services running on the engine and is the Deployer the CD watcher and cron
 * call. Wires the parts, each in its own module: the reconcile loop (reconcile/loop.ts), the
 * route publisher with the rollout overrides (route-publisher.ts), the deployer
 * (deployer.ts) and its rollouts (rollout/runner.ts, rollout/interrupted.ts), the engine's
 * event stream (docker/event-stream.ts) and exit reports (exit-reporter.ts). Every failure is
 * per service, logged with a code and retried with backoff; nothing here throws out of
 * reconcile().
 */
export class Orchestrator implements Deployer, JobRunRecorder {
  readonly instance: InstanceIdentity;
  private readonly abort = new AbortController();
  private readonly services: Services;
  private readonly activities = new Activities();
  private readonly records: DeployRecords;
  private readonly engine: ContainerEngine;
  private readonly routes: RoutePublisher;
  private readonly rollouts: RolloutRunner;
  private readonly interrupted: InterruptedRollouts;
  private readonly deployer: ServiceDeployer;
  private readonly loop: ReconcileLoop;
  private readonly events: EngineEventStream;
  private readonly exits: ExitReporter;
  private routesTimer: NodeJS.Timeout | undefined;

  constructor(opts: OrchestratorOptions) {
    const log = opts.log;
    const signal = this.abort.signal;
    const lock = new KeyedLock();
    const activities = this.activities;
    // containers Dispenser stops itself are recorded: their exit is no crash
    const intendedStops = new IntendedStops();
    const engine = (this.engine = recordingStops(opts.engine, intendedStops));
    this.instance = opts.instance ?? instanceFromEnv();
    const services = (this.services = new Services(engine, this.instance, opts.extraLabels));
    this.records = new DeployRecords({ ledger: opts.ledger ?? new StateDirLedger(() => services.config?.stateDir, log), digestOf: (s) => services.runningImageDigest(s) });
    const routes = (this.routes = new RoutePublisher({ engine, services, publisher: opts.publisher, log, signal, ...(opts.publishTimeoutMs !== undefined ? { publishTimeoutMs: opts.publishTimeoutMs } : {}) }));
    const applier = new Applier({
      engine,
      log,
      lock,
      pullAuth: opts.pullAuth ?? pullAuthSource(),
      signal,
      deploy: (d, existingId, l) => this.deployer.deploy(d, existingId, l, 'reconcile'),
      ...(opts.dependencyTimeoutMs !== undefined ? { dependencyTimeoutMs: opts.dependencyTimeoutMs } : {}),
      ...(opts.stopTimeoutS !== undefined ? { stopTimeoutS: opts.stopTimeoutS } : {}),
    });
    const files = new RolloutFiles(services, log);
    const deployEvents = new DeployEvents(opts.events ?? NO_EVENTS);
    this.rollouts = new RolloutRunner({ engine, applier, routes, services, files, activities, signal });
    this.interrupted = new InterruptedRollouts({ engine, applier, routes, services, files, activities, lock, log, signal });
    this.deployer = new ServiceDeployer({
      engine,
      applier,
      rollouts: this.rollouts,
      routes,
      services,
      activities,
      records: this.records,
      passMode: () => this.loop.currentMode,
      lock,
      log,
      signal,
      events: deployEvents,
      ...(opts.dependencyTimeoutMs !== undefined ? { dependencyTimeoutMs: opts.dependencyTimeoutMs } : {}),
    });
    this.loop = new ReconcileLoop({
      engine,
      applier,
      routes,
      interrupted: this.interrupted,
      services,
      activities,
      log,
      signal,
      partial: opts.partial === true,
      deployEvents,
      ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
      ...(opts.retryMaxMs !== undefined ? { retryMaxMs: opts.retryMaxMs } : {}),
    });
    this.exits = new ExitReporter({ engine, services, intendedStops, log, signal, events: opts.events ?? NO_EVENTS });
    this.events = new EngineEventStream(engine, this.instance, log);
    this.events.on('container', (e) => this.onContainerEvent(e));
    this.events.on('reconnected', () => {
      log.info('connected to the Docker daemon again: reconciling');
      if (services.config) void this.reconcile(services.config, 'startup');
    });
  }

  get currentConfig(): DispenserConfig | undefined {
    return this.services.config;
  }

  /** the secrets of the config about to be reconciled (LoadResult.redact); undefined: none */
  setRedactor(redact: ((text: string) => string) | undefined): void {
    this.services.redact = redact ?? ((text) => text);
  }

  /** Reconciles the engine onto `config`; passes run one after another. */
  reconcile(config: DispenserConfig, mode: ReconcileMode = 'startup'): Promise<ReconcileResult> {
    return this.loop.reconcile(config, mode);
  }

  /** What is under way right now (reconcile passes, redeploys, rollouts), oldest first. */
  busyWith(): string[] {
    return this.activities.list();
  }

  /**
   * At start, before anything else is sent to the proxy: the route table of what runs now, so
   * proxy workers (forked when the proxy settings arrive) hold it before they open their
   * listeners. Waits at most `timeoutMs` for the engine; the table is sent whenever it is ready.
   */
  async publishInitialRoutes(config: DispenserConfig, timeoutMs = 3000): Promise<void> {
    this.services.config ??= config;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.interrupted.restoreRoutes().then(() => this.routes.send()), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Route table of the declared proxied services, published to the proxy. */
  publishRoutes(): Promise<Route[]> {
    return this.routes.publish();
  }

  // ---- Deployer ----

  redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void> {
    return this.deployer.redeploy(service, opts);
  }

  /** the last failed rollout of `service` (config hash, image id, registry digest, error code), if any */
  failedRollout(service: string): Promise<Readonly<FailedRollout> | undefined> {
    return this.rollouts.lastFailure(service);
  }

  /** see JobRunRecorder */
  jobRun(service: string, run: { exitCode: number; durationMs: number }): Promise<void> {
    return this.records.jobRun(service, run);
  }

  runningImageDigest(service: string, prefer?: string): Promise<string | undefined> {
    return this.services.runningImageDigest(service, prefer);
  }

  isRunning(service: string): Promise<boolean> {
    return this.services.isRunning(service);
  }

  waitForExit(service: string): Promise<number> {
    return this.services.waitForExit(service);
  }

  // ---- dispenser status, dispenser logs ----

  /** every declared service's facts, with what the components add (`source`) */
  serviceFacts(source: StatusSource): Promise<ServiceFacts[]> {
    return gatherServiceFacts(this.services, this.records, source);
  }

  /** see control/logs.ts */
  streamLogs(service: string, options: LogOptions, onChunk: (chunk: LogChunk) => void, signal: AbortSignal): Promise<void> {
    return streamServiceLogs(this.engine, this.services, service, options, onChunk, signal);
  }

  // ---- engine connection ----

  /**
   * Follows the engine's events (docker/event-stream.ts): a container start/die of this instance
   * refreshes the routes; after the stream was lost and is back, the config is reconciled again.
   */
  watchEngine(): Promise<void> {
    return this.events.run();
  }

  private onContainerEvent(e: EngineEvent): void {
    if (e.action === 'die') void this.exits.report(e);
    this.routes.containerEvent(e.attributes[LABELS.service], e.id);
    clearTimeout(this.routesTimer);
    this.routesTimer = setTimeout(() => void this.loop.afterPasses(() => this.routes.publish()), ROUTES_REFRESH_DELAY_MS);
  }

  /** Stops timers, waits and the event stream; containers keep running. */
  stop(): void {
    this.abort.abort();
    this.loop.stop();
    clearTimeout(this.routesTimer);
    this.events.stop();
  }
}
