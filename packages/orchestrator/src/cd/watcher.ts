import type { Logger } from '@dispenser/shared/log';
import { codeOr, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import type { Deployer } from '../contracts.js';
import { HEALTHY, isBackingOff, onFailure, onSuccess, type BackoffPolicy, type RegistryHealth } from '../registry/backoff.js';
import type { DigestSource } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { afterDeploy, decide, tagMissing, type WatchMemory } from './decide.js';
import type { InFlight } from './in-flight.js';
import { runPool } from './pool.js';
import type { WatchTarget } from './targets.js';
import type { EventSink } from '../notify/events.js';
import { orchestratorMetrics } from '../metrics.js';

export interface WatcherOptions {
  deployer: Deployer;
  registry: DigestSource;
  log: Logger;
  inFlight: InFlight;
  delayMs: number;
  /** registry lookups in flight at once per registry; default 8 */
  concurrency?: number;
  now?: () => number;
  random?: () => number;
  /** registry-auth-failed is told here */
  events?: EventSink;
}

/** registry answers that say the credentials are missing or wrong, not that the registry is down */
const AUTH_FAILURES: ReadonlySet<string> = new Set(['REGISTRY_UNAUTHORIZED', 'REGISTRY_AUTH_UNSUPPORTED']);

interface ServiceState {
  image: string;
  memory: WatchMemory;
  /** the digest the registry gave for the tag at the last successful check */
  available?: string;
  /** last problem logged for this service ('ok' when none), so each problem is logged once */
  status: 'ok' | ErrorCode;
}

/** Jitter added to every interval: up to 10 % of the delay, at most 5 s, never earlier than the delay. */
export function nextInterval(delayMs: number, random: number): number {
  return delayMs + Math.floor(random * Math.min(delayMs * 0.1, 5_000));
}

/**
 * Polls the registry for every watched service and redeploys on a digest change. Registries are
 * polled independently of each other; a failing registry backs off on its own; a failing service
 * is logged once and retried next poll.
 */
export class DigestWatcher {
  private targets: WatchTarget[] = [];
  private readonly states = new Map<string, ServiceState>();
  private readonly health = new Map<string, RegistryHealth>();
  private readonly deploys = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** per registry: its poll running now, or the last one queued behind it */
  private readonly lanes = new Map<string, Promise<void>>();
  private stopped = false;
  private delayMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly concurrency: number;

  constructor(private readonly options: WatcherOptions) {
    this.delayMs = options.delayMs;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.concurrency = options.concurrency ?? 8;
  }

  setTargets(targets: readonly WatchTarget[], delayMs: number): void {
    this.targets = [...targets];
    this.delayMs = delayMs;
    const keep = new Set(targets.map((t) => t.service));
    for (const [service, state] of this.states) {
      const t = targets.find((x) => x.service === service);
      // A new image (reload) starts from scratch: old failures were about another image.
      if (!keep.has(service) || t?.image !== state.image) this.states.delete(service);
    }
    // A reload is the operator saying "try again": no registry stays silenced by a backoff (or a
    // Retry-After) that an earlier config ran into.
    this.health.clear();
  }

  /** Starts polling: the first poll runs soon, then every delay plus jitter. */
  start(): void {
    this.schedule(Math.floor(this.random() * Math.min(this.delayMs, 1_000)));
  }

  /**
   * Every tick starts a check of each registry that is not still busy with the previous one, and
   * the next tick is timed from this one: a registry that hangs until its timeout holds up only
   * its own services, never the others' ticks.
   */
  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const registry of this.registries()) if (!this.lanes.has(registry)) void this.enqueue(registry);
      this.schedule(nextInterval(this.delayMs, this.random()));
    }, ms);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.lanes.size > 0) await Promise.allSettled([...this.lanes.values()]);
    await this.idle();
  }

  /** the digest the registry gave for the service's tag at the last successful check */
  availableDigest(service: string): string | undefined {
    return this.states.get(service)?.available;
  }

  /** resolves once every redeploy this watcher started has finished */
  async idle(): Promise<void> {
    while (this.deploys.size > 0) await Promise.allSettled([...this.deploys]);
  }

  /**
   * One poll of every watched service now; redeploys run on in the background. Each registry
   * is polled on its own (bounded concurrency within it), all registries at once. A poll asked
   * for while a registry's previous one runs starts after it: polls of one registry never overlap.
   */
  async pollOnce(): Promise<void> {
    await Promise.all(this.registries().map((r) => this.enqueue(r)));
  }

  private registries(): string[] {
    return [...new Set(this.targets.map((t) => t.ref.registry))];
  }

  private enqueue(registry: string): Promise<void> {
    const next = (this.lanes.get(registry) ?? Promise.resolve()).then(() => this.pollRegistry(registry));
    this.lanes.set(registry, next);
    void next.finally(() => {
      if (this.lanes.get(registry) === next) this.lanes.delete(registry);
    });
    return next;
  }

  private async pollRegistry(registry: string): Promise<void> {
    if (this.stopped) return;
    // the targets of the moment: a reload while this registry waited counts
    const targets = this.targets.filter((t) => t.ref.registry === registry);
    const started = this.now();
    await runPool(targets, this.concurrency, (t) =>
      // One service's unexpected failure must not end the poll loop for the others.
      this.check(t).catch((err: unknown) => this.options.log.error({ service: t.service, code: codeOr(err, 'WATCH_FAILED') }, `watch check failed unexpectedly: ${errorMessage(err)}`)),
    );
    this.options.log.debug({ registry, services: targets.length, durationMs: this.now() - started }, 'registry poll done');
  }

  private stateOf(t: WatchTarget): ServiceState {
    let s = this.states.get(t.service);
    if (!s) {
      s = { image: t.image, memory: {}, status: 'ok' };
      this.states.set(t.service, s);
    }
    return s;
  }

  private report(t: WatchTarget, state: ServiceState, status: 'ok' | ErrorCode, problem?: { level: 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }): void {
    if (state.status === status) return;
    const log = this.options.log.child({ service: t.service });
    if (problem) {
      log[problem.level]({ image: t.image, code: status, ...problem.fields }, problem.msg);
      if (AUTH_FAILURES.has(status)) this.options.events?.emit({ event: 'registry-auth-failed', service: t.service, code: status, message: problem.msg, details: { image: t.image, registry: t.ref.registry } });
    }
    else if (state.status !== 'ok') log.info({ image: t.image }, 'watch check works again');
    state.status = status;
  }

  private async check(t: WatchTarget): Promise<void> {
    if (this.stopped || this.options.inFlight.has(t.service)) return;
    const registry = t.ref.registry;
    const health = this.health.get(registry) ?? HEALTHY;
    if (isBackingOff(health, this.now())) return;
    const state = this.stateOf(t);

    let registryDigest: string;
    try {
      registryDigest = await this.options.registry.manifestDigest(t.ref);
      const h = this.health.get(registry) ?? HEALTHY;
      const tr = onSuccess(h);
      this.health.set(registry, tr.next);
      if (tr.change === 'recovered') this.options.log.info({ registry }, 'registry reachable again; polling resumes');
    } catch (err) {
      orchestratorMetrics.imageCheck(t.service, false);
      this.registryFailed(t, state, err);
      return;
    }
    orchestratorMetrics.imageCheck(t.service, true);

    state.available = registryDigest;

    let running: string | undefined;
    try {
      running = await this.options.deployer.runningImageDigest(t.service, registryDigest);
    } catch (err) {
      this.report(t, state, codeOr(err, 'RUNNING_DIGEST_FAILED'), { level: 'warn', msg: `cannot read the running container's image digest: ${errorMessage(err)}` });
      return;
    }
    if (this.stopped || this.options.inFlight.has(t.service)) return;
    this.report(t, state, 'ok');

    const { decision, memory } = decide(registryDigest, running, state.memory);
    state.memory = memory;
    const log = this.options.log.child({ service: t.service });
    switch (decision.action) {
      case 'none':
        return;
      case 'baseline':
        log.info({ image: t.image, digest: decision.digest }, 'the running container has no registry digest; redeploying when the tag moves from this one');
        return;
      case 'skip-failed':
        log.debug({ image: t.image, digest: decision.digest }, 'deploy of this digest failed before; waiting for a new push');
        return;
      case 'redeploy': {
        const work = this.redeploy(t, state, decision.from, decision.to);
        this.deploys.add(work);
        void work.finally(() => this.deploys.delete(work));
      }
    }
  }

  private registryFailed(t: WatchTarget, state: ServiceState, err: unknown): void {
    const code = codeOr(err, 'REGISTRY_ERROR');
    const hint = err instanceof RegistryError ? err.hint : undefined;
    if (err instanceof RegistryError && err.scope === 'registry') {
      const registry = t.ref.registry;
      const h = this.health.get(registry) ?? HEALTHY;
      // Several services of one registry fail in the same poll: count that as one failure.
      if (isBackingOff(h, this.now())) return;
      const policy: BackoffPolicy = { baseMs: this.delayMs, maxMs: Math.max(this.delayMs, 15 * 60_000) };
      const tr = onFailure(h, code, this.now(), policy, err.retryAfterMs);
      this.health.set(registry, tr.next);
      const retryInMs = tr.next.until - this.now();
      const services = this.targets.filter((x) => x.ref.registry === registry).map((x) => x.service);
      if (tr.change === 'failing') {
        const msg = `registry check failed, backing off: ${errorMessage(err)}; not checking ${services.join(', ')} until then, their containers keep running`;
        this.options.log.warn({ registry, services, code, retryInMs, ...(hint ? { hint } : {}) }, msg);
        if (AUTH_FAILURES.has(code)) this.options.events?.emit({ event: 'registry-auth-failed', code, message: msg, details: { registry, services: services.join(', ') } });
      } else this.options.log.debug({ registry, code, retryInMs }, 'registry still failing');
      return;
    }
    if (code === 'REGISTRY_MANIFEST_NOT_FOUND') state.memory = tagMissing(state.memory);
    this.report(t, state, code, { level: 'warn', msg: `registry check failed: ${errorMessage(err)}; retrying next poll`, ...(hint ? { fields: { hint } } : {}) });
  }

  private async redeploy(t: WatchTarget, state: ServiceState, from: string | undefined, to: string): Promise<void> {
    const log = this.options.log.child({ service: t.service });
    const started = this.now();
    log.info({ image: t.image, from: from ?? null, to }, `image changed: ${from ?? 'unknown'} → ${to}; pulling and redeploying`);
    const work = this.options.deployer.redeploy(t.service, { reason: 'digest', pull: true });
    try {
      await this.options.inFlight.track(t.service, work);
    } catch (err) {
      state.memory = afterDeploy(state.memory, to, false);
      log.error({ image: t.image, from: from ?? null, to, durationMs: this.now() - started, code: codeOr(err, 'DEPLOY_FAILED') }, `redeploy failed: ${errorMessage(err)}; ${to} is not retried until the tag points at another image`);
      return;
    }
    let now: string | undefined;
    try {
      now = await this.options.deployer.runningImageDigest(t.service, to);
    } catch {
      now = undefined;
    }
    // The tag moved again during the pull: fine, the next poll sees it. Anything else would loop.
    const ok = now === undefined || now === to || now !== from;
    state.memory = afterDeploy(state.memory, to, ok);
    if (ok) log.info({ image: t.image, from: from ?? null, to: now ?? to, durationMs: this.now() - started }, `redeployed: ${from ?? 'unknown'} → ${now ?? to}`);
    else log.error({ image: t.image, from: from ?? null, to, running: now, durationMs: this.now() - started, code: 'DEPLOY_DIGEST_UNCHANGED' }, `redeployed, but the container still runs ${now}; ${to} is not retried until the tag points at another image`);
  }
}
