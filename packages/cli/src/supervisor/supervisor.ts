import { randomBytes } from 'node:crypto';
import { settingsChange } from '@dispenser/shared/config/restart-required';
import { CONTROL_ORCHESTRATOR_TIMEOUT_MS, KILL_GRACE_MS, METRICS_SCRAPE_TIMEOUT_MS, PROXY_DEFAULTS, TICKET_KEY_ROTATION_MS } from '@dispenser/shared/defaults';
import { assembleStatus } from '@dispenser/shared/control/status';
import { processSamples } from '@dispenser/shared/metrics/process-samples';
import type { MetricSample } from '@dispenser/shared/metrics/sample';
import type { Logger } from '@dispenser/shared/log';
import { isSnapshot, TICKET_KEYS_BYTES, type Message, type MessageOf, type ProxySettingsSnapshot, type Snapshot } from '@dispenser/shared/ipc/messages';
import { AckTracker } from './ack-tracker.js';
import type { ChildHandle } from './child-process.js';
import type { ControlBackend } from './control-server.js';
import { readHistory } from './history.js';
import { ManagedChild } from './managed-child.js';
import { OrchestratorRequests } from './orchestrator-requests.js';
import type { BackoffOptions } from './restart-backoff.js';
import { SnapshotCache } from './snapshot-cache.js';
import type { ServiceManager } from './systemd.js';
import type { ListenSocket } from '@dispenser/shared/ipc/listen-sockets';
import { reportSocketUse } from './socket-activation.js';
import { MetricsGatherer, type ScrapeTarget } from './metrics-gather.js';
import { MetricsServer, type Health } from './metrics-server.js';
import { sharedCall } from './shared-call.js';

export interface SupervisorOptions {
  log: Logger;
  serviceManager: ServiceManager;
  spawnOrchestrator(): ChildHandle;
  spawnProxyWorker(index: number): ChildHandle;
  /** extra time after the drain timeout before a child is killed */
  killGraceMs?: number;
  backoff?: BackoffOptions;
  /** how often the TLS session ticket keys are replaced (default 12 h) */
  ticketKeyRotationMs?: number;
  /** listening sockets from the service manager, handed to every proxy worker */
  activatedSockets?: readonly ListenSocket[];
  /** how long a control request waits for the orchestrator (default 5 s) */
  controlTimeoutMs?: number;
  /** how long a scrape waits for each child (default METRICS_SCRAPE_TIMEOUT_MS) */
  metricsScrapeTimeoutMs?: number;
}

const HANDOVER_FIRST_RETRY_MS = 50;
const HANDOVER_MAX_RETRY_MS = 2_000;

type Settings = ProxySettingsSnapshot['settings'];

/**
 * The supervisor's state machine: one orchestrator, N proxy workers, the snapshot cache between
 * them, readiness, reload and shutdown. Process-level concerns (signals, pid file, exit) live in
 * daemon.ts so this can be driven with fake children.
 */
export class Supervisor {
  private readonly log: Logger;
  private readonly cache = new SnapshotCache();
  private readonly acks = new AckTracker();
  private readonly orchestrator: ManagedChild;
  private readonly workers = new Map<number, ManagedChild>();
  private readonly readyWorkers = new Set<number>();
  private runningSettings: Settings | undefined;
  private orchestratorReady = false;
  private announcedReady = false;
  private reloading = false;
  private stopping: Promise<number> | undefined;
  private ticketKeyTimer: NodeJS.Timeout | undefined;
  private readonly requests: OrchestratorRequests;
  private readonly startedAt = new Date();
  private resolveFinished!: (code: number) => void;
  private readonly gatherer: MetricsGatherer;
  /** the [metrics] listener; opened when the orchestrator's metrics-settings name an address */
  readonly metrics: MetricsServer;
  /** resolves with the exit code once everything has stopped */
  readonly finished: Promise<number>;

  constructor(private readonly options: SupervisorOptions) {
    this.log = options.log;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.gatherer = new MetricsGatherer(options.metricsScrapeTimeoutMs ?? METRICS_SCRAPE_TIMEOUT_MS);
    this.metrics = new MetricsServer({ collect: () => this.collectMetrics() }, this.log.child({ component: 'metrics' }));
    this.orchestrator = new ManagedChild(
      'orchestrator',
      options.spawnOrchestrator,
      this.log,
      {
        started: () => this.cache.newIncarnation(),
        message: (msg) => this.fromOrchestrator(msg),
        exited: () => this.orchestratorExited(),
      },
      options.backoff,
    );
    this.requests = new OrchestratorRequests((msg) => {
      if (!this.orchestrator.child || this.stopping) return false;
      this.orchestrator.send(msg);
      return true;
    });
  }

  /** What the control socket answers with (`dispenser status`, `dispenser logs`). */
  controlBackend(version: string, ledgerPath: string): ControlBackend {
    const ask = sharedCall(() => this.requests.status(this.options.controlTimeoutMs ?? CONTROL_ORCHESTRATOR_TIMEOUT_MS));
    return {
      status: async () => {
        const answer = await ask();
        return assembleStatus({ version, pid: process.pid, startedAt: this.startedAt, ready: this.announcedReady }, answer, new Date());
      },
      logs: (params, sink) => this.requests.logs(params, sink),
      history: (params) => readHistory(ledgerPath, params),
    };
  }

  start(): void {
    this.log.info('starting');
    this.rotateTicketKeys();
    this.orchestrator.start();
  }

  /**
   * New TLS session ticket keys for every worker, made here rather than in each worker so that a
   * ticket issued by one worker resumes on any other, and kept only in memory.
   */
  private rotateTicketKeys(): void {
    const stored = this.cache.own({ type: 'tls-ticket-keys', version: 0, keys: randomBytes(TICKET_KEYS_BYTES).toString('base64') });
    this.acks.publish(stored.type, stored.version);
    for (const w of this.workers.values()) w.send(stored);
    this.ticketKeyTimer = setTimeout(() => this.rotateTicketKeys(), this.options.ticketKeyRotationMs ?? TICKET_KEY_ROTATION_MS);
    this.ticketKeyTimer.unref();
  }

  /** SIGHUP / `-s reload`: the orchestrator re-reads and validates everything. */
  reload(): void {
    if (this.stopping) return;
    if (!this.orchestrator.child) {
      this.log.warn('reload requested while the orchestrator is restarting; it reads the configuration when it starts');
      return;
    }
    this.log.info('reloading configuration');
    this.reloading = true;
    this.options.serviceManager.reloading();
    this.orchestrator.send({ type: 'reload' });
  }

  /** SIGTERM / SIGINT / `-s stop` (code 0), or a fatal child (code 1). Idempotent. */
  stop(code: number): Promise<number> {
    if (this.stopping) return this.stopping;
    clearTimeout(this.ticketKeyTimer);
    this.options.serviceManager.stopping();
    // before the orchestrator sent settings, nothing is configured yet: the documented default
    const timeoutMs = this.cachedSettings()?.shutdownTimeoutMs ?? PROXY_DEFAULTS.shutdownTimeoutMs;
    const killAfterMs = timeoutMs + (this.options.killGraceMs ?? KILL_GRACE_MS);
    this.log.info({ drainTimeoutMs: timeoutMs }, 'stopping: draining proxy workers and the orchestrator');
    const drain: Message = { type: 'drain', timeoutMs };
    const all = [this.orchestrator, ...this.workers.values()].map((c) => c.stop(drain, killAfterMs));
    this.stopping = Promise.all([...all, this.metrics.close()]).then(() => {
      this.log.info({ code }, 'stopped');
      this.resolveFinished(code);
      return code;
    });
    return this.stopping;
  }

  private cachedSettings(): Settings | undefined {
    const s = this.cache.get('proxy-settings');
    return s?.type === 'proxy-settings' ? s.settings : undefined;
  }

  private fromOrchestrator(msg: Message): void {
    if (isSnapshot(msg)) return this.snapshot(msg);
    if (this.requests.handle(msg)) return;
    switch (msg.type) {
      case 'ready':
        this.log.info('orchestrator ready');
        this.orchestratorReady = true;
        this.checkReady();
        return;
      case 'reloaded':
        return this.reloaded(msg);
      case 'metrics-settings':
        void this.metrics.configure(this.stopping ? null : msg.listen);
        return;
      case 'metrics-report':
        return this.gatherer.report('orchestrator', msg);
      case 'fatal':
        return this.fatal(msg, 'orchestrator');
      default:
        this.log.warn({ type: msg.type }, 'ignored an unexpected message from the orchestrator');
    }
  }

  private snapshot(snapshot: Snapshot): void {
    if (snapshot.type === 'tls-ticket-keys') {
      this.log.warn('ignored TLS ticket keys from the orchestrator: the supervisor makes them');
      return;
    }
    const stored = this.cache.accept(snapshot);
    if (!stored) {
      this.log.warn({ kind: snapshot.type, version: snapshot.version }, 'ignored an out-of-date snapshot from the orchestrator');
      return;
    }
    this.log.debug({ kind: stored.type, version: snapshot.version, workerVersion: stored.version }, 'snapshot received');
    this.acks.publish(stored.type, stored.version);
    for (const w of this.workers.values()) w.send(stored);
    if (stored.type === 'proxy-settings') this.proxySettings(stored.settings);
    this.settle();
  }

  private proxySettings(settings: Settings): void {
    if (this.stopping) return;
    if (!this.runningSettings || portsChanged(this.runningSettings, settings)) reportSocketUse(this.log, this.options.activatedSockets ?? [], settings);
    if (!this.runningSettings) {
      this.runningSettings = settings;
      const count = workerCount(settings);
      if (count === 0) this.log.info('proxy disabled: no proxy workers');
      else this.log.info({ workers: count }, 'starting proxy workers');
      for (let index = 1; index <= count; index++) this.startWorker(index);
      this.checkReady();
      return;
    }
    const before = this.runningSettings;
    const change = settingsChange(before, settings);
    this.runningSettings = change.inEffect;
    for (const setting of change.restartRequired) {
      this.log.warn(
        { setting, running: { enabled: before.enabled, workers: before.workers }, configured: { enabled: settings.enabled, workers: settings.workers } },
        `${setting} changed: it takes effect after a restart of dispenser`,
      );
    }
  }

  private startWorker(index: number): void {
    const slot = new ManagedChild(
      `proxy worker ${index}`,
      () => this.options.spawnProxyWorker(index),
      this.log.child({ worker: index }),
      {
        started: (child) => {
          this.acks.addWorker(index);
          this.readyWorkers.delete(index);
          // a (re)started worker serves at once, without asking the orchestrator
          this.handOver(index, slot, child);
        },
        message: (msg) => this.fromWorker(index, msg),
        exited: () => {
          this.acks.removeWorker(index);
          this.readyWorkers.delete(index);
          // the dead worker may have been the last one holding an `applied` back
          this.settle();
        },
      },
      this.options.backoff,
    );
    this.workers.set(index, slot);
    slot.start();
  }

  /**
   * Sends every cached snapshot to a starting worker. A cluster worker drops messages that arrive
   * before its module has installed a 'message' handler, and nothing tells us when that is, so
   * snapshots the worker has not acknowledged are resent, with growing gaps, until it has
   * acknowledged every one (it ignores a version it already holds).
   */
  private handOver(index: number, slot: ManagedChild, child: ChildHandle): void {
    const pending = () => this.cache.all().filter((s) => this.acks.ackedBy(index, s.type) < s.version);
    for (const s of this.cache.all()) child.send(s);
    let delay = HANDOVER_FIRST_RETRY_MS;
    const retry = (): void => {
      if (slot.child !== child || this.stopping) return;
      const missing = pending();
      if (missing.length === 0) return;
      for (const s of missing) child.send(s);
      delay = Math.min(delay * 2, HANDOVER_MAX_RETRY_MS);
      setTimeout(retry, delay).unref();
    };
    setTimeout(retry, delay).unref();
  }

  private fromWorker(index: number, msg: Message): void {
    switch (msg.type) {
      case 'ack':
        this.acks.ack(index, msg.kind, msg.version);
        this.settle();
        return;
      case 'ready':
        this.log.info({ worker: index }, `proxy worker ${index} ready`);
        this.readyWorkers.add(index);
        this.checkReady();
        return;
      case 'metrics-report':
        return this.gatherer.report(workerName(index), msg);
      case 'fatal':
        // A replacement worker that cannot start (e.g. a reload moved the port onto one another
        // process holds, which the running workers survived) must not take the serving ones down:
        // it is retried with backoff while they carry the traffic.
        if (this.announcedReady && [...this.readyWorkers].some((w) => w !== index)) {
          this.log.error({ worker: index, code: msg.code, error: msg.message }, `proxy worker ${index} cannot start: ${msg.message}; the other workers keep serving`);
          return;
        }
        return this.fatal(msg, `proxy worker ${index}`);
      default:
        this.log.warn({ worker: index, type: msg.type }, 'ignored an unexpected message from a proxy worker');
    }
  }

  /**
   * One scrape: every child's samples (asked over IPC, at most the scrape timeout), the
   * supervisor's own, `dispenser_up` per process, and the health /healthz reports. Expected are
   * the orchestrator and every configured worker; one that is not running, not ready yet or does
   * not answer in time is down.
   */
  private async collectMetrics(): Promise<{ samples: MetricSample[]; health: Health }> {
    const workers = this.runningSettings ? workerCount(this.runningSettings) : 0;
    const targets: ScrapeTarget[] = [{ name: 'orchestrator', send: sender(this.orchestrator) }];
    for (let index = 1; index <= workers; index++) targets.push({ name: workerName(index), send: sender(this.workers.get(index)) });
    const { samples, answered } = await this.gatherer.gather(targets);
    const problems: string[] = [];
    if (!this.runningSettings) problems.push('orchestrator: has not sent the proxy settings yet (starting)');
    for (const [name, ok] of answered) {
      samples.push({ name: 'dispenser_up', labels: { process: name }, value: ok ? 1 : 0 });
      const ready = name === 'orchestrator' ? this.orchestratorReady : this.readyWorkers.has(Number(name.slice(WORKER_PREFIX.length)));
      if (!ok) problems.push(`${name}: did not answer`);
      else if (!ready) problems.push(`${name}: not ready`);
    }
    samples.push({ name: 'dispenser_up', labels: { process: 'supervisor' }, value: 1 }, ...processSamples('supervisor'));
    return { samples, health: { healthy: problems.length === 0 && !this.stopping, problems: this.stopping ? ['supervisor: stopping', ...problems] : problems } };
  }

  private settle(): void {
    for (const { kind, version } of this.acks.settle()) {
      const orchestratorVersion = this.cache.orchestratorVersionApplied(kind, version);
      if (orchestratorVersion === undefined) continue;
      this.log.debug({ kind, version: orchestratorVersion }, 'snapshot applied by every proxy worker');
      this.orchestrator.send({ type: 'applied', kind, version: orchestratorVersion });
    }
  }

  private checkReady(): void {
    if (this.announcedReady || !this.orchestratorReady || !this.runningSettings) return;
    if (this.readyWorkers.size < workerCount(this.runningSettings)) return;
    this.announcedReady = true;
    this.log.info({ workers: this.workers.size }, 'dispenser ready');
    this.options.serviceManager.ready();
  }

  private reloaded(msg: MessageOf<'reloaded'>): void {
    for (const error of msg.errors) this.log.error({ error }, 'reload: configuration error');
    if (msg.ok) this.log.info('reload: new configuration applied');
    else this.log.error({ errors: msg.errors.length }, 'reload failed: still running the previous configuration');
    this.endReload();
  }

  private endReload(): void {
    if (!this.reloading) return;
    this.reloading = false;
    this.options.serviceManager.ready();
  }

  private orchestratorExited(): void {
    // not ready again (for /healthz) until the restarted one says so; `dispenser ready` stays announced
    this.orchestratorReady = false;
    // a restarted orchestrator reads the configuration afresh; nothing answers the old reload
    this.endReload();
    this.requests.orchestratorGone();
  }

  private fatal(msg: MessageOf<'fatal'>, from: string): void {
    this.log.fatal({ from, code: msg.code, error: msg.message }, `fatal error in ${from}: ${msg.message}; stopping dispenser`);
    void this.stop(1);
  }
}

const WORKER_PREFIX = 'proxy-worker-';

/** a worker's `process` label */
function workerName(index: number): string {
  return `${WORKER_PREFIX}${index}`;
}

function sender(slot: ManagedChild | undefined): ScrapeTarget['send'] {
  const child = slot?.child;
  return child ? (msg) => child.send(msg) : undefined;
}

function portsChanged(a: Settings, b: Settings): boolean {
  return a.enabled !== b.enabled || a.strategy !== b.strategy || a.httpPort !== b.httpPort || a.httpsPort !== b.httpsPort;
}

/** ProxySettings.workers is resolved by the config pipeline (defaults.ts proxyWorkers); this only honours `enabled`. */
function workerCount(settings: Settings): number {
  return settings.enabled ? settings.workers : 0;
}
