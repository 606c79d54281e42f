import type { Snapshot, SnapshotKind } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import type { ListenSocket } from '@dispenser/shared/ipc/listen-sockets';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import { compileRoutes } from './table.js';
import { compileCerts } from './sni.js';
import { initialState, type ProxyState } from './state.js';
import { UpstreamPool } from './upstream-pool.js';
import { newTraffic, newUpstreamErrorLimiter, type Traffic } from './handler.js';
import { Listeners } from './listeners.js';
import { ProxyMetrics } from './metrics.js';
import { dataPathTuning, type TuningHooks } from './tuning/index.js';

/**
 * One proxy worker's state machine, without the process wiring (worker.ts) so tests can drive it
 * in-process. Snapshots are applied one at a time in arrival order; an older version than the one
 * held is ignored.
 */
export class ProxyWorker {
  readonly state: ProxyState = initialState();
  readonly pool = new UpstreamPool();
  readonly traffic: Traffic = newTraffic();
  readonly metrics = new ProxyMetrics();
  readonly listeners: Listeners;
  private readonly versions = new Map<SnapshotKind, number>();
  private readonly queue = new SerialQueue();
  private listening = false;

  /**
   * `sockets`: listening sockets inherited from the supervisor (socket activation); `tuning`: the
   * data-path hooks, by default this process's (tuning/)
   */
  constructor(
    private readonly log: Logger,
    sockets: readonly ListenSocket[] = [],
    tuning?: TuningHooks,
  ) {
    this.listeners = new Listeners({ state: this.state, pool: this.pool, traffic: this.traffic, log, tuning: tuning ?? dataPathTuning(this.traffic), upstreamErrors: newUpstreamErrorLimiter(), metrics: this.metrics }, sockets);
  }

  get isListening(): boolean {
    return this.listening;
  }

  /**
   * Resolves to 'applied' once the snapshot is in effect (listeners open for proxy-settings), to
   * 'stale' for an older version than the one held. Rejects when listeners cannot open.
   */
  apply(snapshot: Snapshot): Promise<'applied' | 'stale'> {
    return this.queue.run(() => this.applyNow(snapshot));
  }

  private async applyNow(snapshot: Snapshot): Promise<'applied' | 'stale'> {
    const held = this.versions.get(snapshot.type);
    if (held !== undefined && snapshot.version < held) return 'stale';
    switch (snapshot.type) {
      case 'routes': {
        const table = compileRoutes(snapshot.routes, snapshot.version, this.metrics);
        this.state.table = table;
        this.metrics.retainOnly(new Set(snapshot.routes.map((r) => r.service)));
        this.pool.retainOnly(table.upstreams);
        break;
      }
      case 'certs': {
        const { store, problems } = compileCerts(snapshot.certs, snapshot.version);
        for (const p of problems) this.log.error({ hosts: p.hosts, err: p.message, code: 'PROXY_CERT_INVALID' }, 'certificate skipped: it does not load');
        this.state.certs = store;
        break;
      }
      case 'challenges':
        this.state.challenges = new Map(Object.entries(snapshot.tokens));
        break;
      case 'tls-ticket-keys':
        this.listeners.setTicketKeys(Buffer.from(snapshot.keys, 'base64'));
        break;
      case 'proxy-settings': {
        // settings first: the first request on a new listener must see the strategy it was opened for
        const previous = this.state.settings;
        this.state.settings = Object.freeze({ ...snapshot.settings });
        try {
          await this.listeners.apply(snapshot.settings);
        } catch (err) {
          // the listeners that could not move are still open with the previous settings
          this.state.settings = previous;
          throw err;
        }
        this.state.boundHttpsPort = this.listeners.httpsPort ?? snapshot.settings.httpsPort;
        this.listening = true;
        break;
      }
    }
    this.versions.set(snapshot.type, snapshot.version);
    return 'applied';
  }

  /**
   * Stop accepting, let in-flight requests finish until the deadline, close WebSockets. Resolves
   * when nothing is in flight or the deadline passed.
   */
  drain(timeoutMs: number): Promise<'idle' | 'deadline'> {
    this.draining ??= this.drainNow(timeoutMs);
    return this.draining;
  }

  private draining: Promise<'idle' | 'deadline'> | undefined;

  private drainNow(timeoutMs: number): Promise<'idle' | 'deadline'> {
    const traffic = this.traffic;
    traffic.draining = true;
    this.listeners.stopAccepting();
    for (const socket of traffic.upgraded) socket.destroy();
    return new Promise((resolve) => {
      const finish = (how: 'idle' | 'deadline') => {
        clearTimeout(deadline);
        clearInterval(sweeper);
        traffic.onIdle = undefined;
        this.listeners.destroyAll();
        this.pool.destroy();
        resolve(how);
      };
      const deadline = setTimeout(() => finish('deadline'), timeoutMs);
      // idle once nothing is in flight and no connection accepted before the listener closed
      // still has its first request to send (it would otherwise be reset unanswered)
      const idle = (): boolean => traffic.inFlight === 0 && !this.listeners.awaitingFirstRequest();
      // keep-alive connections that become idle after their last response
      const sweeper = setInterval(() => {
        this.listeners.closeIdle();
        if (idle()) finish('idle');
      }, 50);
      if (idle()) finish('idle');
      else traffic.onIdle = () => idle() && finish('idle');
    });
  }
}
