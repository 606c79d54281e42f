import { join } from 'node:path';
import type { CertbotSettings, DispenserConfig } from '@dispenser/shared/config/types';
import { createLogger, type Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import type { Component, ProxyPublisher } from '../contracts.js';
import { AcmeIssuer } from './acme-issuer.js';
import { ChallengeBoard } from './challenges.js';
import { newHostState, renewalState, sameSource, type HostState } from './host-state.js';
import { CertLoader } from './load.js';
import { orderCertificate } from './order.js';
import { planCertificates, type PlanProblem } from './plan.js';
import { CertPublisher } from './publish.js';
import { CHECK_INTERVAL_MS, FILE_WARN_BEFORE_MS, decideRenewal, nextWakeUp } from './renewal.js';
import { CheckScheduler } from './schedule.js';
import { SelfSignedIssuer } from './self-signed.js';
import { hostStatuses, type HostCertStatus } from './status.js';
import { CertStore } from './store.js';
import type { EventSink } from '../notify/events.js';

export type { HostProblem } from './host-state.js';
export type { HostCertStatus };

export interface CertificatesDeps {
  publisher: ProxyPublisher;
  /** `dispenser dev`: self-signed certificates instead of ACME */
  dev: boolean;
  log?: Logger;
  /** clock for renewal and expiry decisions */
  now?: () => Date;
  /**
   * PEM bundle trusted for the ACME directory's HTTPS endpoint, besides the system roots and
   * NODE_EXTRA_CA_CERTS (which is how users trust a private CA).
   */
  acmeCa?: string | Buffer;
  /** how often certificates are checked for renewal (default 1 h) */
  checkIntervalMs?: number;
  /** per-request timeout towards the CA (default 30 s) */
  acmeRequestTimeoutMs?: number;
  /** cert_file changes are picked up this long after the last write (default 200 ms) */
  fileDebounceMs?: number;
  /** cert-renewal-failed and cert-expiring are told here */
  events?: EventSink;
}

/** The certificate manager; `status()` and `idle()` are for `dispenser status` and tests. */
export interface Certificates extends Component {
  status(): HostCertStatus[];
  /** resolves once no renewal check or order is running or queued */
  idle(): Promise<void>;
}

/**
 * Keeps one state per planned host (plan.ts) and drives the parts: loading and watching what
 * can be served from disk (load.ts), publishing the snapshot (publish.ts), the renewal checks
 * (schedule.ts) and ACME orders (order.ts), the status (status.ts).
 */
class CertificateManager implements Certificates {
  private readonly hosts = new Map<string, HostState>();
  private planProblems: PlanProblem[] = [];
  private readonly abort = new AbortController();
  private readonly store: CertStore;
  private readonly selfSigned: SelfSignedIssuer;
  private readonly challenges: ChallengeBoard;
  private readonly loader: CertLoader;
  private readonly publisher: CertPublisher;
  private readonly checks: CheckScheduler;
  private issuer: AcmeIssuer | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly applying = new SerialQueue();

  constructor(
    private config: DispenserConfig,
    private readonly deps: CertificatesDeps,
  ) {
    const signal = this.abort.signal;
    this.log = (deps.log ?? createLogger('orchestrator')).child({ module: 'certs' });
    this.now = deps.now ?? (() => new Date());
    this.store = new CertStore(join(config.stateDir, 'certs'));
    this.selfSigned = new SelfSignedIssuer(new CertStore(join(config.stateDir, 'dev-certs')));
    this.challenges = new ChallengeBoard(deps.publisher);
    this.loader = new CertLoader({ store: this.store, selfSigned: this.selfSigned, now: this.now, ...(deps.fileDebounceMs !== undefined ? { fileDebounceMs: deps.fileDebounceMs } : {}) });
    this.publisher = new CertPublisher(deps.publisher, this.hosts, this.log, signal);
    this.checks = new CheckScheduler({ check: () => this.check(), nextCheckAt: (now) => this.nextCheckAt(now), now: this.now, log: this.log, signal });
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Load what can be served right now, publish it, then start ordering what is missing. */
  apply(config: DispenserConfig): Promise<void> {
    return this.applying.run(() => this.applyNow(config));
  }

  private async applyNow(config: DispenserConfig): Promise<void> {
    if (this.stopped) return;
    this.config = config;
    const plan = planCertificates(config, { dev: this.deps.dev });
    this.planProblems = plan.problems;
    for (const p of plan.problems) {
      this.log[p.severity === 'error' ? 'error' : 'warn']({ host: p.host, code: p.code }, p.message);
    }

    const wanted = new Map(plan.hosts.map((h) => [h.host, h]));
    for (const [host, state] of this.hosts) {
      const next = wanted.get(host);
      if (!next || !sameSource(next.source, state.plan.source)) {
        // Removed (or switched source): stop watching and renewing; the stored files stay as a cache.
        state.watcher?.close();
        this.hosts.delete(host);
        if (!next) state.log.info('host removed from config; its certificate is no longer served or renewed');
      } else {
        state.plan = next;
      }
    }
    await Promise.all(
      plan.hosts
        .filter((h) => !this.hosts.has(h.host))
        .map(async (h) => {
          const state = newHostState(h, this.log);
          this.hosts.set(h.host, state);
          await this.loader.initial(state);
          state.watcher = this.loader.watch(state, () => void this.reloadFiles(state));
        }),
    );

    const issuer = plan.acme && config.certbot ? this.issuerFor(config.certbot) : undefined;
    if (issuer && issuer !== this.issuer) {
      // A different CA or account (e.g. a corrected directory_url or email): backoff earned
      // against the previous one must not delay the first attempt with this one by up to 12 h.
      for (const s of this.hosts.values()) {
        s.failures = 0;
        s.retryAt = undefined;
      }
    }
    this.issuer = issuer;
    await this.publisher.publish();
    this.checks.kick();
  }

  private issuerFor(certbot: CertbotSettings): AcmeIssuer {
    if (this.issuer && this.issuer.directoryUrl === certbot.directoryUrl && this.issuer.email === certbot.email) return this.issuer;
    return new AcmeIssuer({
      stateDir: this.config.stateDir,
      directoryUrl: certbot.directoryUrl,
      email: certbot.email,
      challenges: this.challenges,
      log: this.log,
      ...(this.deps.acmeCa !== undefined ? { ca: this.deps.acmeCa } : {}),
      ...(this.deps.acmeRequestTimeoutMs !== undefined ? { requestTimeoutMs: this.deps.acmeRequestTimeoutMs } : {}),
    });
  }

  /** still the state of its host: not removed or replaced by a reload meanwhile */
  private isCurrent(state: HostState): boolean {
    return this.hosts.get(state.plan.host) === state;
  }

  private async reloadFiles(state: HostState): Promise<void> {
    if (this.stopped || !this.isCurrent(state)) return;
    const before = state.current?.certPem;
    if ((await this.loader.files(state)) && state.current?.certPem !== before) {
      state.log.info({ notAfter: state.current?.info.notAfter.toISOString() }, 'certificate files changed on disk; serving the new certificate');
      await this.publisher.publish();
    }
  }

  /** the earliest renewal due, or the regular check interval */
  private nextCheckAt(now: Date): Date {
    const decisions = [...this.hosts.values()].filter((s) => s.plan.source.kind === 'acme' && this.issuer).map((s) => decideRenewal(renewalState(s), now));
    return nextWakeUp(decisions, now, this.deps.checkIntervalMs ?? CHECK_INTERVAL_MS);
  }

  private async check(): Promise<void> {
    for (const state of [...this.hosts.values()]) {
      if (this.stopped) return;
      if (!this.isCurrent(state)) continue;
      if (state.plan.source.kind === 'files' && state.current) {
        const left = state.current.info.notAfter.getTime() - this.now().getTime();
        // Close to expiry: re-read (maybe replaced without a watch event) and warn again, hourly.
        if (left < FILE_WARN_BEFORE_MS) await this.reloadFiles(state);
        continue;
      }
      if (state.plan.source.kind !== 'acme' || !this.issuer) continue;
      const decision = decideRenewal(renewalState(state), this.now());
      if (decision.action !== 'order') continue;
      const issued = await orderCertificate(state, this.issuer, decision.reason, { store: this.store, now: this.now, current: (s) => this.isCurrent(s), signal: this.abort.signal, ...(this.deps.events ? { events: this.deps.events } : {}) });
      if (issued) await this.publisher.publish();
    }
  }

  status(): HostCertStatus[] {
    return hostStatuses(this.hosts.values(), this.planProblems);
  }

  readonly statusSource = { certificates: () => this.status() };

  async idle(): Promise<void> {
    await this.applying;
    await this.checks.idle();
    await this.publisher.idle();
  }

  update(config: DispenserConfig): Promise<void> {
    return this.apply(config);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    const checks = this.checks.stop();
    for (const s of this.hosts.values()) s.watcher?.close();
    await checks;
    await this.selfSigned.close();
  }
}

/**
 * Start the certificate manager: stored, file and dev certificates are loaded and published
 * before this resolves; missing or expiring ACME certificates are ordered in the background.
 */
export async function startCertificates(config: DispenserConfig, deps: CertificatesDeps): Promise<Certificates> {
  const manager = new CertificateManager(config, deps);
  await manager.apply(config);
  return manager;
}
