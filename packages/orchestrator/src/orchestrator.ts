import { join } from 'node:path';
import type { DispenserConfig, ServiceConfig } from '@dispenser/shared/config/types';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { instanceFromEnv, LABELS, ownershipFilter, type InstanceIdentity } from '@dispenser/shared/instance';
import type { Route } from '@dispenser/shared/ipc/messages';
import { serviceLogger, type Logger } from '@dispenser/shared/log';
import { backoffDelay, sleep } from './backoff.js';
import type { DeployReason, Deployer, ProxyPublisher } from './contracts.js';
import { registryAuthSource } from './docker/auth.js';
import type { ContainerEngine, ContainerInfo, EngineEvent, RegistryAuth } from './docker/engine.js';
import { wrapEngineError } from './docker/errors.js';
import { IntendedStops, recordingStops } from './docker/intended-stops.js';
import { EXIT_LOG_LINES, exitReport } from './exits.js';
import { repoDigestFor, repository } from './docker/image-ref.js';
import { KeyedLock } from './keyed-lock.js';
import { Applier, type PullMode, type ServiceOutcome } from './reconcile/apply.js';
import { awaitCondition } from './reconcile/dependencies.js';
import { desiredService, desiredServices, type DesiredService } from './reconcile/desired.js';
import { ensureNetworks } from './reconcile/networks.js';
import { plan, type Action, type ObservedContainer } from './reconcile/plan.js';
import { routeTable } from './routes.js';
import { FailureStore, sameAsFailed, type FailedRollout } from './rollout/failures.js';
import { runRollout, type RolloutProgress } from './rollout/procedure.js';
import { engineSteps } from './rollout/steps.js';
import { RolloutJournal, routesMayPointToCandidate, type RolloutRecord } from './rollout/journal.js';
import { resumeFailure, resumeRollout } from './rollout/resume.js';
import { drain, openConnections } from './rollout/drain.js';
import { DEPENDENCY_TIMEOUT_MS, FAULT_RETRY, ROUTES_CONFIRM_TIMEOUT_MS } from '@dispenser/shared/defaults';

export interface OrchestratorOptions {
  engine: ContainerEngine;
  publisher: ProxyPublisher;
  log: Logger;
  /** default: from DISPENSER_INSTANCE */
  instance?: InstanceIdentity;
  /** labels added to every container and network (tests: dispenser.test=<area>) */
  extraLabels?: Readonly<Record<string, string>>;
  registryAuth?: (image: string) => Promise<RegistryAuth | undefined>;
  dependencyTimeoutMs?: number;
  stopTimeoutS?: number;
  /** retry of failed services / an unreachable daemon: base and cap of the backoff */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how long to wait for the proxy to confirm a route table before logging and going on */
  publishTimeoutMs?: number;
  /** `dispenser dev`: only some services are loaded; never remove the containers of the others */
  partial?: boolean;
}

export interface ReconcileResult {
  actions: Action[];
  outcomes: ServiceOutcome[];
  /** set when the whole pass could not run (daemon unreachable) */
  error?: DispenserError;
  routes: Route[];
}

/**
 * Keeps the declared services running on the engine and is the Deployer the CD watcher and cron
 * call. Every failure is per service, logged with a code and retried with backoff; nothing here
 * throws out of reconcile().
 */
export class Orchestrator implements Deployer {
  readonly instance: InstanceIdentity;
  private readonly engine: ContainerEngine;
  private readonly log: Logger;
  private readonly lock = new KeyedLock();
  private readonly applier: Applier;
  private readonly abort = new AbortController();
  private config: DispenserConfig | undefined;
  /** scrubs the current config's secret values from what containers print (rollout failures) */
  private redact: (text: string) => string = (text) => text;
  private queue: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private unsubscribe: (() => void) | undefined;
  private routesTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** service → candidate container id the proxy routes to while a rollout is under way */
  private readonly routeOverrides = new Map<string, string>();
  /** route tables are computed and sent one at a time, so the proxy gets them in order */
  private routesSending: Promise<unknown> = Promise.resolve();
  /** the last failed rollout per service (kept in the state dir): that config + image is not retried automatically */
  private failureStore: FailureStore | undefined;
  /** services whose rollout runs in this process right now: their journal record is live, not left over */
  private readonly rolloutsRunning = new Set<string>();
  /** what is under way, for the log lines of work that has to wait for it ("the rollout of web") */
  private readonly activities = new Map<symbol, string>();
  /** containers Dispenser stopped itself: their exit is no crash */
  private readonly intendedStops = new IntendedStops();
  /** whether this process has sent a route table yet (see sendRoutes) */
  private routesSent = false;
  /** the last route table sent, and the container each service's route pointed to */
  private lastRoutes: Route[] | undefined;
  private readonly routedIds = new Map<string, string>();
  /** services whose routed container died since the last table: the engine may not answer now */
  private readonly deadRouted = new Set<string>();

  constructor(private readonly opts: OrchestratorOptions) {
    this.engine = recordingStops(opts.engine, this.intendedStops);
    this.log = opts.log;
    this.instance = opts.instance ?? instanceFromEnv();
    this.applier = new Applier({
      engine: this.engine,
      log: this.log,
      lock: this.lock,
      registryAuth: opts.registryAuth ?? registryAuthSource(),
      signal: this.abort.signal,
      deploy: (d, existingId, log) => this.deploy(d, existingId, log, 'reconcile'),
      ...(opts.dependencyTimeoutMs !== undefined ? { dependencyTimeoutMs: opts.dependencyTimeoutMs } : {}),
      ...(opts.stopTimeoutS !== undefined ? { stopTimeoutS: opts.stopTimeoutS } : {}),
    });
  }

  get currentConfig(): DispenserConfig | undefined {
    return this.config;
  }

  /** Reconciles the engine onto `config`; passes run one after another. */
  /** the secrets of the config about to be reconciled (LoadResult.redact); undefined: none */
  setRedactor(redact: ((text: string) => string) | undefined): void {
    this.redact = redact ?? ((text) => text);
  }

  reconcile(config: DispenserConfig, mode: 'startup' | 'reload' = 'startup'): Promise<ReconcileResult> {
    this.config = config;
    const run = this.queue.then(() => this.during(`a reconcile (${mode})`, () => this.reconcileOnce(config, mode)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** What is under way right now (reconcile passes, redeploys, rollouts), oldest first. */
  busyWith(): string[] {
    return [...new Set(this.activities.values())];
  }

  private async during<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const key = Symbol(what);
    this.activities.set(key, what);
    try {
      return await fn();
    } finally {
      this.activities.delete(key);
    }
  }

  private async reconcileOnce(config: DispenserConfig, mode: 'startup' | 'reload'): Promise<ReconcileResult> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let actions: Action[] = [];
    let outcomes: ServiceOutcome[] = [];
    let error: DispenserError | undefined;
    try {
      const failedNetworks = await ensureNetworks(this.engine, config, this.instance, this.log, this.opts.extraLabels);
      const desired = desiredServices(config, this.instance, this.desiredOptions());
      // Rollouts cut off by a crash are settled first, so the plan below sees their outcome; one
      // that cannot be settled keeps its containers and its service out of this pass.
      const unsettled = await this.resumeRollouts();
      const observed = await this.observe(desired);
      actions = plan({ desired, observed, instance: this.instance.name, mode, partial: this.opts.partial === true }).filter((a) => !touchesUnsettled(a, unsettled));
      for (const r of unsettled) outcomes.push({ service: r.service, action: 'recreate', ok: false, error: new DispenserError('ROLLOUT_RESUME_PENDING', `the interrupted rollout of ${r.service} is not settled yet`) });
      this.log.info({ mode, plan: summarize(actions) }, `reconcile (${mode}): ${summarize(actions)}`);
      // Before any slow work (pulls, dependency waits, rollouts): what already runs is served at
      // once and what does not answers 503, instead of the proxy waiting for the whole pass.
      void this.sendRoutes();
      outcomes = [...outcomes, ...(await this.applier.apply(actions, new Map(desired.map((d) => [d.service, d])), failedNetworks))];
    } catch (err) {
      error = wrapEngineError('RECONCILE_FAILED', 'reconcile failed', err);
      this.log.error({ code: error.code, hint: error.hint }, error.message);
    }
    const failed = outcomes.filter((o) => !o.ok);
    if (this.config === config && !this.stopped && (error || failed.length > 0)) {
      const delay = backoffDelay(this.retryAttempt++, this.opts.retryBaseMs ?? FAULT_RETRY.baseMs, this.opts.retryMaxMs ?? FAULT_RETRY.maxMs);
      this.log.warn({ services: failed.map((o) => o.service), delayMs: delay }, `retrying ${error ? 'reconcile' : failed.map((o) => o.service).join(', ')} in ${Math.round(delay / 1000)} s`);
      this.retryTimer = setTimeout(() => void this.reconcile(config, mode), delay);
      this.retryTimer.unref?.();
    } else if (!error && failed.length === 0) {
      this.retryAttempt = 0;
    }
    const routes = error ? [] : await this.publishRoutes();
    return { actions, outcomes, routes, ...(error ? { error } : {}) };
  }

  private desiredOptions(): { extraLabels?: Readonly<Record<string, string>> } {
    return this.opts.extraLabels ? { extraLabels: this.opts.extraLabels } : {};
  }

  /** this instance's managed containers, plus whatever holds a desired container name */
  private async observe(desired: readonly DesiredService[]): Promise<ObservedContainer[]> {
    const list = await this.engine.listContainers(ownershipFilter(this.instance).label);
    const names = new Set(list.map((c) => c.name));
    const wanted = new Set(desired.map((d) => d.containerName));
    const observed: ObservedContainer[] = [];
    for (const c of list) {
      // the planner starts a stopped declared container unless it completed its job: it needs the exit code
      const exitCode = wanted.has(c.name) && c.state === 'exited' ? (await this.engine.inspectContainer(c.id))?.State.ExitCode : undefined;
      observed.push({ id: c.id, name: c.name, labels: c.labels, state: c.state, ...(exitCode !== undefined ? { exitCode } : {}) });
    }
    for (const d of desired) {
      if (names.has(d.containerName)) continue;
      const info = await this.engine.inspectContainer(d.containerName);
      if (info) observed.push({ id: info.Id, name: d.containerName, labels: info.Config.Labels ?? {}, state: info.State.Status, exitCode: info.State.ExitCode, networks: Object.keys(info.NetworkSettings?.Networks ?? {}) });
    }
    return observed;
  }

  /**
   * Computes the route table (running proxied services; a service in the middle of a rollout is
   * routed to its candidate) and sends it. One at a time: a table computed later never reaches
   * the proxy before one computed earlier. Resolves once sent, with the proxy's confirmation.
   */
  private sendRoutes(): Promise<{ routes: Route[]; confirmed: Promise<void> } | undefined> {
    const run = this.routesSending.then(async () => {
      const config = this.config;
      if (!config) return undefined;
      let routes: Route[];
      try {
        const infos = new Map<string, ContainerInfo | undefined>();
        for (const s of config.services) {
          if (!s.proxy) continue;
          const override = this.routeOverrides.get(s.name);
          infos.set(s.name, override ? await this.engine.inspectContainer(override) : await this.ownContainer(s.name));
        }
        routes = routeTable(config.services, infos, this.instance.network.name);
        this.routedIds.clear();
        for (const [service, info] of infos) if (info?.State.Running) this.routedIds.set(service, info.Id);
        this.deadRouted.clear();
      } catch (err) {
        if (this.routesSent && this.lastRoutes && this.deadRouted.size) {
          // The engine is going away (or gone) and took containers with it: their routes answer
          // 503 now, not 502 until it is back; the others keep what they had.
          this.log.error({ err: errorMessage(err), services: [...this.deadRouted] }, 'cannot ask the Docker engine which containers run; the services whose container died answer 503 until it can');
          const dead = this.deadRouted;
          routes = this.lastRoutes.map((r) => (dead.has(r.service) ? { ...r, upstream: null } : r));
        } else if (this.routesSent) {
          this.log.error({ err: errorMessage(err) }, 'cannot compute the route table; the proxy keeps the previous one');
          return undefined;
        } else {
          // Nothing sent yet (Dispenser starts while the engine is down): the declared routes without
          // upstreams, so their hosts answer 503 rather than 404 until the engine is back.
          this.log.error({ err: errorMessage(err) }, 'cannot ask the Docker engine which containers run; the proxy answers 503 for every declared route until it can');
          routes = routeTable(config.services, new Map(), this.instance.network.name);
        }
      }
      this.routesSent = true;
      this.lastRoutes = routes;
      const confirmed = Promise.resolve().then(() => this.opts.publisher.publishRoutes(routes));
      confirmed.catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'publishing routes failed'));
      return { routes, confirmed };
    });
    this.routesSending = run.catch(() => undefined);
    return run;
  }

  /** true once every proxy worker confirmed `confirmed` within the publish timeout */
  private confirmedInTime(confirmed: Promise<void>): Promise<boolean> {
    const timeoutMs = this.opts.publishTimeoutMs ?? ROUTES_CONFIRM_TIMEOUT_MS;
    const signal = this.abort.signal;
    // its own timer, cleared on confirmation: a pending sleep per publish would pile up listeners
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      confirmed.then(() => finish(true), () => finish(false));
    });
  }

  /**
   * At start, before anything else is sent to the proxy: the route table of what runs now, so
   * proxy workers (forked when the proxy settings arrive) hold it before they open their
   * listeners. Waits at most `timeoutMs` for the engine; the table is sent whenever it is ready.
   */
  async publishInitialRoutes(config: DispenserConfig, timeoutMs = 3000): Promise<void> {
    this.config ??= config;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.restoreOverrides().then(() => this.sendRoutes()), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Route table of the declared proxied services, published to the proxy. */
  async publishRoutes(): Promise<Route[]> {
    const sent = await this.sendRoutes();
    if (!sent) return [];
    // a supervisor that never confirms must not stall reconciling: warn and go on
    const confirmed = await this.confirmedInTime(sent.confirmed);
    if (!confirmed && !this.stopped) this.log.warn({ timeoutMs: this.opts.publishTimeoutMs ?? ROUTES_CONFIRM_TIMEOUT_MS }, 'the proxy has not confirmed the new routes yet');
    return sent.routes;
  }

  /** rollout's route switch: `service` → container `id` (undefined: by name again), confirmed by every worker */
  private async routeTo(service: string, id: string | undefined): Promise<boolean> {
    if (id) this.routeOverrides.set(service, id);
    else this.routeOverrides.delete(service);
    const sent = await this.sendRoutes();
    return sent ? this.confirmedInTime(sent.confirmed) : false;
  }

  private service(name: string): ServiceConfig {
    const svc = this.config?.services.find((s) => s.name === name);
    if (!svc) throw new DispenserError('SERVICE_UNKNOWN', `no service named ${name} is declared`, { hint: 'check [service] name in its service.toml' });
    return svc;
  }

  private desired(name: string): DesiredService {
    return desiredService(this.service(name), this.instance, this.desiredOptions());
  }

  /** the service's container if this instance manages it */
  private async ownContainer(service: string): Promise<ContainerInfo | undefined> {
    const info = await this.engine.inspectContainer(this.desired(service).containerName);
    const labels = info?.Config.Labels ?? {};
    if (!info || labels[LABELS.managed] !== 'true' || labels[LABELS.instance] !== this.instance.name || labels[LABELS.service] !== service) return undefined;
    return info;
  }

  // ---- Deployer ----

  async redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void> {
    const d = this.desired(service);
    const svc = this.service(service);
    const log = serviceLogger(this.log, service);
    await this.lock.run(service, () => this.during(`the ${opts.reason} redeploy of ${service}`, async () => {
      log.info({ reason: opts.reason, pull: opts.pull }, `redeploying ${service} (${opts.reason})`);
      // a digest-triggered deploy exists to run the new image: falling back to the old one would hide the failure
      const mode: PullMode = !opts.pull ? 'local-or-pull' : opts.reason === 'digest' ? 'pull-strict' : 'pull-or-local';
      await this.applier.ensureImage(d, mode, log);
      const existing = await this.engine.inspectContainer(d.containerName);
      if (existing && existing.Config.Labels?.[LABELS.managed] !== 'true') {
        throw new DispenserError('CONTAINER_NAME_CONFLICT', `a container named ${d.containerName} exists and is not managed by Dispenser; it was left alone`, {
          hint: `remove or rename it (docker rm -f ${d.containerName}) or rename the service`,
        });
      }
      for (const [dep, condition] of Object.entries(svc.dependsOn)) {
        if (!this.config?.services.some((s) => s.name === dep)) continue;
        await awaitCondition(this.engine, dep, this.desired(dep).containerName, condition, { timeoutMs: this.opts.dependencyTimeoutMs ?? DEPENDENCY_TIMEOUT_MS, log, signal: this.abort.signal });
      }
      await this.deploy(d, existing?.Id, log, opts.reason);
    }));
    await this.publishRoutes();
  }

  /**
   * One deploy of a service whose image is in place, for reconcile (create/recreate) and
   * redeploy alike. 'recreate': stop the old container, start the new one (Applier.replace).
   * 'rollout' (proxied services): start the new container beside the running one, health-gate
   * it, switch the proxy, drain and remove the old one (rollout/procedure.ts). A rollout needs a
   * running old container to protect; without one, recreate is just as good and faster.
   */
  private async deploy(d: DesiredService, existingId: string | undefined, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    const old = existingId ? await this.engine.inspectContainer(existingId) : undefined;
    if (!existingId || !old) return this.applier.createAndStart(d, log);
    if (d.strategy === 'rollout') {
      const svc = this.config?.services.find((s) => s.name === d.service);
      if (svc?.proxy && old.State.Running && !hasHostPorts(d)) return this.rollout(d, svc.proxy, existingId, log, trigger);
    }
    return this.applier.replace(existingId, d, log);
  }

  /** the failure store of the current state dir */
  private failures(): FailureStore | undefined {
    const stateDir = this.config?.stateDir;
    if (!stateDir) return undefined;
    const file = join(stateDir, 'rollout-failures.json');
    if (this.failureStore?.file !== file) {
      this.failureStore = new FailureStore(file, (err) => this.log.warn({ file, err: errorMessage(err) }, 'cannot read or write the record of failed rollouts'));
    }
    return this.failureStore;
  }

  /** the rollout journal of the current state dir */
  private journal(): RolloutJournal | undefined {
    const stateDir = this.config?.stateDir;
    return stateDir ? new RolloutJournal(join(stateDir, 'rollouts')) : undefined;
  }

  private async records(): Promise<RolloutRecord[]> {
    const journal = this.journal();
    if (!journal) return [];
    const records = await journal.list((file) => this.log.warn({ code: 'ROLLOUT_RECORD_UNREADABLE', file, hint: 'remove the file if no rollout is under way' }, `ignoring an unreadable rollout record ${file}`));
    return records.filter((r) => !this.rolloutsRunning.has(r.service));
  }

  /**
   * At start, before the first route table: a rollout that was cut off after the switch left the
   * proxy routing to its candidate. Keep it that way (the old container may be half stopped) until
   * resumeRollouts decides; routing by name here is what made a restart send traffic back to it.
   */
  private async restoreOverrides(): Promise<void> {
    try {
      for (const r of await this.records()) {
        if (!routesMayPointToCandidate(r.stage) || r.stage === 'promoted') continue;
        const info = await this.engine.inspectContainer(r.candidateId);
        if (info?.State.Running) this.routeOverrides.set(r.service, r.candidateId);
      }
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot read the rollout records before the first route table');
    }
  }

  /** Settles every rollout cut off by a crash (rollout/resume.ts); returns the records that are still open. */
  private async resumeRollouts(): Promise<RolloutRecord[]> {
    const journal = this.journal();
    if (!journal) return [];
    const open: RolloutRecord[] = [];
    for (const listed of await this.records()) {
      const log = serviceLogger(this.log, listed.service);
      await this.lock.run(listed.service, async () => {
        // a redeploy that held the lock may have run a new rollout meanwhile: act on the record now
        const record = this.rolloutsRunning.has(listed.service) ? undefined : await journal.get(listed.service);
        if (!record) return;
        const svc = this.config?.services.find((s) => s.name === record.service);
        try {
          await this.during(`settling the interrupted rollout of ${record.service}`, () =>
            resumeRollout(record, {
              journal,
              inspect: async (x) => {
                const info = await this.engine.inspectContainer(x);
                return info ? { id: info.Id, running: info.State.Running } : undefined;
              },
              routeTo: (service, id) => this.routeTo(service, id),
              drain: (_service, id) => this.drainFor(id, svc?.proxy, log),
              remove: (id) => this.applier.removeContainer(id),
              rename: (id, to) => this.engine.renameContainer(id, to),
              log,
            }),
          );
        } catch (err) {
          const e = resumeFailure(record.service, wrapEngineError('ROLLOUT_RESUME_FAILED', `cannot settle the interrupted rollout of ${record.service}`, err));
          if (e.code === 'DOCKER_UNAVAILABLE') throw e;
          log.error({ code: e.code, hint: e.hint, stage: record.stage }, e.message);
          open.push(record);
        }
      });
    }
    return open;
  }

  /** best effort, like the rollout's own drain: bounded by drain_timeout, never throws */
  private async drainFor(id: string, proxy: ServiceConfig['proxy'] | undefined, log: Logger): Promise<void> {
    try {
      const info = await this.engine.inspectContainer(id);
      if (!info?.State.Running || !proxy) return;
      const pid = info.State.Pid;
      const r = await drain(proxy.drainTimeoutMs, { connections: () => openConnections(pid, proxy.servicePort), sleep: (ms) => sleep(ms, this.abort.signal), now: Date.now });
      log.info({ method: r.method, waitedMs: r.waitedMs, open: r.open }, 'old container drained');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot watch the old container drain: removing it');
    }
  }

  /** records each step of a rollout; before the switch a failed write fails the rollout (it could not be resumed) */
  private rolloutProgress(d: DesiredService, oldId: string, log: Logger): RolloutProgress | undefined {
    const journal = this.journal();
    if (!journal) return undefined;
    let candidateName: string | undefined;
    return async (stage, candidateId) => {
      // for the log lines of a later resume; the id is what identifies it
      candidateName ??= (await this.engine.inspectContainer(candidateId).catch(() => undefined))?.Name.replace(/^\//, '') ?? candidateId.slice(0, 12);
      const record: RolloutRecord = { service: d.service, stage, containerName: d.containerName, candidateId, candidateName, oldId, at: new Date().toISOString() };
      try {
        await journal.record(record);
        log.info({ rolloutStep: stage, file: journal.dir }, `rollout of ${d.service}: step "${stage}" recorded`);
      } catch (err) {
        const e = new DispenserError('ROLLOUT_JOURNAL_FAILED', `cannot record the rollout step "${stage}" in ${journal.dir}: ${errorMessage(err)}`, {
          cause: err,
          hint: 'check that the state directory is writable and the disk not full',
        });
        if (ROLLOUT_AFTER_SWITCH.has(stage)) {
          // the new container serves already: finishing is safer than stopping half way
          log.warn({ code: e.code, hint: e.hint }, e.message);
          return;
        }
        throw e;
      }
    };
  }

  /**
   * A container that failed its rollout is not tried again automatically with the same config
   * and image: reconcile (start, reload, its retries) keeps the old one; a registry-digest
   * trigger is refused (the watcher then waits for another digest). cron and manual triggers try.
   */
  private async rollout(d: DesiredService, proxy: NonNullable<ServiceConfig['proxy']>, oldId: string, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    const image = await this.engine.inspectImage(d.image);
    const attempt = { hash: d.hash, imageId: image?.Id ?? d.image, digest: repoDigestFor(image?.RepoDigests ?? [], repository(d.image)) };
    const store = this.failures();
    const failed = await store?.get(d.service);
    if (sameAsFailed(failed, attempt) && (trigger === 'reconcile' || trigger === 'digest')) {
      const message = `not retrying the rollout of ${d.service}: this configuration and image${failed!.digest ? ` (${failed!.digest})` : ''} failed before (${failed!.code} at ${failed!.at}); the previous container keeps serving`;
      const hint = 'change the configuration or push a new image to try again';
      if (trigger === 'digest') throw new DispenserError('ROLLOUT_NOT_RETRIED', message, { hint });
      log.warn({ code: 'ROLLOUT_NOT_RETRIED', failedCode: failed!.code, image: d.image, digest: failed!.digest, hint }, message);
      return oldId;
    }
    const journal = this.journal();
    this.rolloutsRunning.add(d.service);
    try {
      const id = await this.during(`the rollout of ${d.service}`, () => runRollout(
        oldId,
        engineSteps({
          engine: this.engine,
          createAndStart: (x, l) => this.applier.createAndStart(x, l),
          removeContainer: (x) => this.applier.removeContainer(x),
          routes: { routeTo: (service, id) => this.routeTo(service, id) },
          desired: d,
          proxy,
          network: this.instance.network.name,
          log,
          signal: this.abort.signal,
          redact: this.redact,
        }),
        this.rolloutProgress(d, oldId, log),
      ));
      await journal?.clear(d.service);
      await store?.delete(d.service);
      return id;
    } catch (err) {
      const e = err instanceof DispenserError ? err : new DispenserError('ROLLOUT_FAILED', errorMessage(err), { cause: err });
      if (e.code === 'ROLLOUT_INCOMPLETE') {
        // the new container took over: keep routing to it unless a running container holds the name
        // again (then the old one still serves); not a failed image, so nothing to remember
        const holder = await this.ownContainer(d.service).catch(() => undefined);
        if (holder?.State.Running) this.routeOverrides.delete(d.service);
        // the record stays: the next reconcile finishes the rollout from it (resumeRollouts)
        throw e;
      }
      this.routeOverrides.delete(d.service);
      // rolled back (the candidate is removed, the old one serves): nothing left to resume
      await journal?.clear(d.service).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot remove the rollout record'));
      // only the image/config is to blame for these; a proxy that did not confirm or a missing bind
      // path on the host may be fixed without a config change, so reconcile keeps retrying those
      if (IMAGE_FAILURES.has(e.code)) await store?.set(d.service, { ...attempt, code: e.code, at: new Date().toISOString() });
      throw e;
    } finally {
      this.rolloutsRunning.delete(d.service);
    }
  }

  /** the last failed rollout of `service` (config hash, image id, registry digest, error code), if any */
  async failedRollout(service: string): Promise<Readonly<FailedRollout> | undefined> {
    return this.failures()?.get(service);
  }

  async runningImageDigest(service: string, prefer?: string): Promise<string | undefined> {
    const info = await this.ownContainer(service);
    if (!info) return undefined;
    const image = await this.engine.inspectImage(info.Image);
    return repoDigestFor(image?.RepoDigests ?? [], repository(this.service(service).image), prefer);
  }

  async isRunning(service: string): Promise<boolean> {
    return (await this.ownContainer(service))?.State.Running ?? false;
  }

  async waitForExit(service: string): Promise<number> {
    const info = await this.ownContainer(service);
    if (!info) throw new DispenserError('CONTAINER_NOT_FOUND', `service ${service} has no container`);
    return this.engine.waitContainer(info.Id);
  }

  // ---- engine connection ----

  /**
   * Follows the engine's events: container start/die of this instance refreshes the routes; when
   * the stream breaks (dockerd restarted or stopped) it reconnects with backoff and reconciles
   * again, since containers without a restart policy are gone after a daemon restart.
   */
  async watchEngine(): Promise<void> {
    let attempt = 0;
    let everConnected = false;
    while (!this.stopped) {
      try {
        const ended = new Promise<Error | undefined>((resolve) => {
          void this.engine
            .subscribe((e) => this.onEngineEvent(e), resolve)
            .then((unsub) => {
              this.unsubscribe = unsub;
            }, resolve);
        });
        // give a failed subscribe a moment to report before counting as connected
        const early = await Promise.race([ended, sleep(300).then(() => 'up' as const)]);
        if (early !== 'up') throw early ?? new Error('event stream ended');
        if (everConnected || attempt > 0) {
          this.log.info('connected to the Docker daemon again: reconciling');
          if (this.config) void this.reconcile(this.config, 'startup');
        }
        everConnected = true;
        attempt = 0;
        const err = await ended;
        if (this.stopped) return;
        this.log.warn({ err: err ? errorMessage(err) : undefined }, 'lost the Docker daemon event stream; reconnecting');
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err: errorMessage(err), attempt }, 'Docker daemon unreachable; retrying');
      }
      await sleep(backoffDelay(attempt++, 500, 15_000), this.abort.signal);
    }
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.attributes[LABELS.instance] !== this.instance.name || e.attributes[LABELS.managed] !== 'true') return;
    if (!['start', 'die', 'destroy'].includes(e.action)) return;
    if (e.action === 'die') void this.reportExit(e);
    const service = e.attributes[LABELS.service];
    if (service && this.routedIds.get(service) === e.id) this.deadRouted.add(service);
    clearTimeout(this.routesTimer);
    this.routesTimer = setTimeout(() => void this.queue.then(() => this.publishRoutes()), 200);
  }

  /**
   * A declared service's container died and Dispenser did not stop it: log it with the exit code
   * and the container's last lines (scrubbed of the config's secrets). Nothing is started here:
   * Docker's restart policy decides (restart = "no": a reload or restart of Dispenser does).
   */
  private async reportExit(e: EngineEvent): Promise<void> {
    try {
      const service = e.attributes[LABELS.service];
      const name = e.attributes.name;
      const svc = this.config?.services.find((s) => s.name === service);
      // a rollout candidate or a set-aside copy carries another name; their fate is logged where it is decided
      if (!svc || !name || name !== this.desired(svc.name).containerName || this.intendedStops.intended(e.id) || this.stopped) return;
      const exitCode = Number(e.attributes.exitCode ?? Number.NaN);
      const lastLogs = await this.engine.containerLogs(e.id, EXIT_LOG_LINES).catch(() => [] as string[]);
      const redacted = lastLogs.map((l) => this.redact(l));
      const report = exitReport(svc, name, Number.isFinite(exitCode) ? exitCode : -1, redacted);
      if (!report) return;
      const log = serviceLogger(this.log, svc.name);
      const fields = { code: report.code, container: name, exitCode, restartPolicy: svc.restart, restartedBy: report.restartedBy, lastLogs: redacted, hint: report.hint };
      if (report.level === 'error') log.error(fields, report.message);
      else log.info(fields, report.message);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), container: e.attributes.name }, 'cannot report a container exit');
    }
  }

  /** Stops timers, waits and the event stream; containers keep running. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    clearTimeout(this.retryTimer);
    clearTimeout(this.routesTimer);
    this.unsubscribe?.();
  }
}

export type { FailedRollout };

/** rollout failures that say the new container itself is bad */
const IMAGE_FAILURES = new Set(['ROLLOUT_UNHEALTHY', 'ROLLOUT_CONTAINER_EXITED']);

/** stages after which a failed record write only warns (see rolloutProgress) */
const ROLLOUT_AFTER_SWITCH: ReadonlySet<string> = new Set(['switched', 'old-drained', 'old-removed', 'promoted']);

/** an action of the plan that would touch a service or a container of a rollout not settled yet */
function touchesUnsettled(a: Action, unsettled: readonly RolloutRecord[]): boolean {
  return unsettled.some((r) => ('service' in a && a.service === r.service) || ('containerId' in a && (a.containerId === r.candidateId || a.containerId === r.oldId)));
}

function hasHostPorts(d: DesiredService): boolean {
  return Object.keys(d.spec.HostConfig?.PortBindings ?? {}).length > 0;
}


function summarize(actions: readonly Action[]): string {
  const counts = new Map<string, number>();
  for (const a of actions) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do';
}
