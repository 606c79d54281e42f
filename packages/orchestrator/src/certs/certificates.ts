import { join } from 'node:path';
import type { CertbotSettings, DispenserConfig } from '@dispenser/shared/config/types';
import type { CertEntry } from '@dispenser/shared/ipc/messages';
import { createLogger, type Logger } from '@dispenser/shared/log';
import { codeOr, errorCode, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import type { Component, ProxyPublisher } from '../contracts.js';
import { AcmeIssuer } from './acme-issuer.js';
import { FileWatcher, loadCertFiles } from './cert-files.js';
import { ChallengeBoard } from './challenges.js';
import { CertError, CertErrorCode } from './errors.js';
import { inspectCertificate, type CertInfo } from './pem.js';
import { planCertificates, type CertSource, type HostPlan, type PlanProblem } from './plan.js';
import { CHECK_INTERVAL_MS, FILE_WARN_BEFORE_MS, decideRenewal, nextRetryAt, nextWakeUp, type RenewalDecision } from './renewal.js';
import { SelfSignedIssuer } from './self-signed.js';
import { CertStore, type StoredCert } from './store.js';

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
}

export interface HostProblem {
  code: ErrorCode;
  message: string;
  hint?: string;
}

export interface HostCertStatus {
  host: string;
  source: CertSource['kind'] | 'none';
  /** the certificate served now, if any */
  notAfter?: Date;
  issuer?: string;
  /** the last failure (ACME order, file load, plan); cleared by the next success */
  error?: HostProblem;
  warnings: HostProblem[];
  /** ACME: consecutive failures and when the next attempt is due */
  failures: number;
  retryAt?: Date;
}

/** The certificate manager; `status()` and `idle()` are for `dispenser status` and tests. */
export interface Certificates extends Component {
  status(): HostCertStatus[];
  /** resolves once no renewal check or order is running or queued */
  idle(): Promise<void>;
}

interface HostState {
  plan: HostPlan;
  log: Logger;
  current?: StoredCert & { info: CertInfo };
  failures: number;
  retryAt?: Date;
  error?: HostProblem;
  warnings: HostProblem[];
  watcher?: FileWatcher;
}

function sameSource(a: CertSource, b: CertSource): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'files' && b.kind === 'files') return a.certFile === b.certFile && a.keyFile === b.keyFile;
  return true;
}

function problemOf(err: unknown): HostProblem {
  const hint = err instanceof CertError ? err.hint : undefined;
  return { code: codeOr(err, CertErrorCode.acmeFailed), message: errorMessage(err), ...(hint !== undefined ? { hint } : {}) };
}

class CertificateManager implements Certificates {
  private readonly hosts = new Map<string, HostState>();
  private planProblems: PlanProblem[] = [];
  private readonly store: CertStore;
  private readonly selfSigned: SelfSignedIssuer;
  private readonly challenges: ChallengeBoard;
  private issuer: AcmeIssuer | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPublished = '';
  private publishing: Promise<void> = Promise.resolve();
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private config: DispenserConfig,
    private readonly deps: CertificatesDeps,
  ) {
    this.log = (deps.log ?? createLogger('orchestrator')).child({ module: 'certs' });
    this.now = deps.now ?? (() => new Date());
    this.store = new CertStore(join(config.stateDir, 'certs'));
    this.selfSigned = new SelfSignedIssuer(new CertStore(join(config.stateDir, 'dev-certs')));
    this.challenges = new ChallengeBoard(deps.publisher);
  }

  /** Load what can be served right now, publish it, then start ordering what is missing. */
  apply(config: DispenserConfig): Promise<void> {
    const run = this.applying.then(() => this.applyNow(config));
    this.applying = run.catch(() => undefined);
    return run;
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
          const state: HostState = {
            plan: h,
            log: this.log.child({ host: h.host, service: h.services.join(',') }),
            failures: 0,
            warnings: [],
          };
          this.hosts.set(h.host, state);
          await this.loadInitial(state);
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
    await this.publish();
    this.kick();
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

  private async loadInitial(state: HostState): Promise<void> {
    const { source, host } = state.plan;
    switch (source.kind) {
      case 'acme': {
        const stored = await this.store.load(host);
        if (stored) {
          state.current = { ...stored, info: inspectCertificate(stored.certPem) };
          state.log.info({ notAfter: state.current.info.notAfter.toISOString() }, 'loaded stored certificate');
        }
        return;
      }
      case 'files':
        await this.loadFiles(state);
        state.watcher = new FileWatcher(
          [source.certFile, source.keyFile],
          () => void this.reloadFiles(state),
          (err) => state.log.warn({ err: errorMessage(err) }, 'cannot watch certificate files; changes need a reload (SIGHUP)'),
          this.deps.fileDebounceMs,
        );
        return;
      case 'self-signed':
        try {
          const cert = await this.selfSigned.get(host, this.now());
          state.current = { ...cert, info: inspectCertificate(cert.certPem) };
          state.error = undefined;
        } catch (err) {
          state.error = { code: CertErrorCode.selfSignedFailed, message: `cannot make a self-signed certificate for ${host}: ${errorMessage(err)}` };
          state.log.error({ code: state.error.code }, state.error.message);
        }
        return;
    }
  }

  /** Returns true when the files were loaded; on failure the previous certificate stays. */
  private async loadFiles(state: HostState): Promise<boolean> {
    const { source, host } = state.plan;
    if (source.kind !== 'files') return false;
    try {
      const loaded = await loadCertFiles(host, source.certFile, source.keyFile, this.now());
      state.current = { certPem: loaded.certPem, keyPem: loaded.keyPem, info: loaded.info };
      state.error = undefined;
      state.warnings = loaded.warnings;
      for (const w of loaded.warnings) state.log.warn({ code: w.code }, w.message);
      return true;
    } catch (err) {
      state.error = problemOf(err);
      state.log.error({ code: state.error.code, hint: state.error.hint }, state.current ? `${state.error.message}; still serving the previous certificate` : state.error.message);
      return false;
    }
  }

  private async reloadFiles(state: HostState): Promise<void> {
    if (this.stopped || this.hosts.get(state.plan.host) !== state) return;
    const before = state.current?.certPem;
    if ((await this.loadFiles(state)) && state.current?.certPem !== before) {
      state.log.info({ notAfter: state.current?.info.notAfter.toISOString() }, 'certificate files changed on disk; serving the new certificate');
      await this.publish();
    }
  }

  /** Whole snapshot of every certificate we can serve; skipped when nothing changed. */
  private publish(): Promise<void> {
    const run = this.publishing.then(async () => {
      if (this.stopped) return;
      const certs: CertEntry[] = [...this.hosts.values()]
        .filter((s) => s.current)
        .sort((a, b) => a.plan.host.localeCompare(b.plan.host))
        .map((s) => ({ hosts: [s.plan.host], certPem: s.current!.certPem, keyPem: s.current!.keyPem }));
      const key = JSON.stringify(certs.map((c) => [c.hosts, c.certPem]));
      if (key === this.lastPublished) return;
      this.lastPublished = key;
      try {
        await this.deps.publisher.publishCerts(certs);
        this.log.debug({ hosts: certs.map((c) => c.hosts[0]) }, 'certificates published');
      } catch (err) {
        this.lastPublished = '';
        this.log.error({ err: errorMessage(err) }, 'could not publish certificates to the proxy');
      }
    });
    this.publishing = run;
    return run;
  }

  /** Start a renewal check now, or right after the running one. */
  private kick(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = (async () => {
      do {
        this.again = false;
        await this.check().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'certificate check failed'));
      } while (this.again && !this.stopped);
      this.loop = undefined;
      this.schedule();
    })();
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.now();
    const decisions: RenewalDecision[] = [...this.hosts.values()]
      .filter((s) => s.plan.source.kind === 'acme' && this.issuer)
      .map((s) => decideRenewal(this.renewalState(s), now));
    const wake = nextWakeUp(decisions, now, this.deps.checkIntervalMs ?? CHECK_INTERVAL_MS);
    this.timer = setTimeout(() => this.kick(), Math.max(0, wake.getTime() - now.getTime()));
    this.timer.unref();
  }

  private renewalState(s: HostState): Parameters<typeof decideRenewal>[0] {
    return {
      failures: s.failures,
      ...(s.current ? { notAfter: s.current.info.notAfter } : {}),
      ...(s.retryAt ? { retryAt: s.retryAt } : {}),
    };
  }

  private async check(): Promise<void> {
    for (const state of [...this.hosts.values()]) {
      if (this.stopped) return;
      if (this.hosts.get(state.plan.host) !== state) continue;
      if (state.plan.source.kind === 'files' && state.current) {
        const left = state.current.info.notAfter.getTime() - this.now().getTime();
        // Close to expiry: re-read (maybe replaced without a watch event) and warn again, hourly.
        if (left < FILE_WARN_BEFORE_MS) await this.reloadFiles(state);
        continue;
      }
      if (state.plan.source.kind !== 'acme' || !this.issuer) continue;
      const decision = decideRenewal(this.renewalState(state), this.now());
      if (decision.action === 'order') await this.order(state, this.issuer, decision.reason);
    }
  }

  private async order(state: HostState, issuer: AcmeIssuer, reason: string): Promise<void> {
    const host = state.plan.host;
    state.log.info({ reason, directoryUrl: issuer.directoryUrl }, 'ordering certificate');
    try {
      const cert = await issuer.issue(host);
      const info = inspectCertificate(cert.certPem);
      await this.store.save(host, cert);
      if (this.stopped || this.hosts.get(host) !== state) return;
      state.current = { ...cert, info };
      state.failures = 0;
      state.retryAt = undefined;
      state.error = undefined;
      state.log.info({ notAfter: info.notAfter.toISOString(), issuer: info.issuer.replace(/\n/g, ', ') }, 'certificate issued');
      await this.publish();
    } catch (err) {
      if (this.hosts.get(host) !== state) return;
      state.failures += 1;
      const retryAfterMs = err instanceof CertError ? err.retryAfterMs : undefined;
      state.retryAt = nextRetryAt(state.failures, this.now(), {
        rateLimited: errorCode(err) === CertErrorCode.rateLimited,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
      state.error = problemOf(err);
      state.log.error(
        { code: state.error.code, hint: state.error.hint, failures: state.failures, retryAt: state.retryAt.toISOString(), serving: state.current ? 'previous certificate' : 'none' },
        state.error.message,
      );
    }
  }

  status(): HostCertStatus[] {
    const out: HostCertStatus[] = [...this.hosts.values()].map((s) => ({
      host: s.plan.host,
      source: s.plan.source.kind,
      failures: s.failures,
      warnings: s.warnings,
      ...(s.current ? { notAfter: s.current.info.notAfter, issuer: s.current.info.issuer } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.retryAt ? { retryAt: s.retryAt } : {}),
    }));
    for (const p of this.planProblems) {
      const existing = out.find((o) => o.host === p.host);
      const problem = { code: p.code, message: p.message };
      if (existing) existing.warnings = [...existing.warnings, problem];
      else out.push({ host: p.host, source: 'none', failures: 0, warnings: p.severity === 'warning' ? [problem] : [], ...(p.severity === 'error' ? { error: problem } : {}) });
    }
    return out.sort((a, b) => a.host.localeCompare(b.host));
  }

  async idle(): Promise<void> {
    await this.applying;
    while (this.loop) await this.loop;
    await this.publishing;
  }

  update(config: DispenserConfig): Promise<void> {
    return this.apply(config);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const s of this.hosts.values()) s.watcher?.close();
    // An order in flight cannot be aborted (acme-client has no signal); its result is dropped.
    await Promise.race([this.loop ?? Promise.resolve(), new Promise((r) => setTimeout(r, 2_000).unref())]);
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
