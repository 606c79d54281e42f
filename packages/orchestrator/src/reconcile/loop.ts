import { FAULT_RETRY } from '@dispenser/shared/defaults';
import type { DispenserConfig } from '@dispenser/shared/config/types';
import { DispenserError } from '@dispenser/shared/errors';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import type { Activities } from '../activities.js';
import { backoffDelay } from '../backoff.js';
import type { ContainerEngine } from '../docker/engine.js';
import { wrapEngineError } from '../docker/errors.js';
import type { RoutePublisher } from '../route-publisher.js';
import type { InterruptedRollouts } from '../rollout/interrupted.js';
import type { RolloutRecord } from '../rollout/journal.js';
import type { Services } from '../services.js';
import type { Applier, ServiceOutcome } from './apply.js';
import { desiredServices } from './desired.js';
import { ensureNetworks } from './networks.js';
import { observe } from './observe.js';
import { plan, type Action } from './plan.js';
import type { DeployEvents } from '../notify/deploy-events.js';

export interface ReconcileResult {
  actions: Action[];
  outcomes: ServiceOutcome[];
  /** set when the whole pass could not run (daemon unreachable) */
  error?: DispenserError;
  routes: Route[];
}

export type ReconcileMode = 'startup' | 'reload';

/** actions that deploy a container: their failures are failed deploys */
const DEPLOYS: ReadonlySet<Action['kind']> = new Set(['create', 'recreate', 'takeover', 'start']);

export interface ReconcileLoopOptions {
  engine: ContainerEngine;
  applier: Applier;
  routes: RoutePublisher;
  interrupted: InterruptedRollouts;
  services: Services;
  activities: Activities;
  log: Logger;
  /** `dispenser dev`: only some services are loaded; never remove the containers of the others */
  partial: boolean;
  /** failed deploys are told here ([[notify]]) */
  deployEvents?: DeployEvents;
  /** retry of failed services / an unreachable daemon: base and cap of the backoff */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** aborted when the orchestrator stops: no more retries */
  signal: AbortSignal;
}

/**
 * Reconcile passes, one after another: plan the config against what runs, apply, publish the
 * routes; a pass with failures is retried with backoff for as long as its config is current.
 * Nothing here throws out of reconcile().
 */
export class ReconcileLoop {
  private readonly passes = new SerialQueue();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private passing: ReconcileMode | undefined;

  constructor(private readonly opts: ReconcileLoopOptions) {}

  /** the mode of the pass under way (what triggered its deploys, for the ledger), if one is */
  get currentMode(): ReconcileMode | undefined {
    return this.passing;
  }

  /** Reconciles the engine onto `config` once the passes asked for before are done. */
  reconcile(config: DispenserConfig, mode: ReconcileMode = 'startup'): Promise<ReconcileResult> {
    this.opts.services.config = config;
    return this.passes.run(() =>
      this.opts.activities.during(`a reconcile (${mode})`, async () => {
        this.passing = mode;
        try {
          return await this.once(config, mode);
        } finally {
          this.passing = undefined;
        }
      }),
    );
  }

  /** runs `fn` once the passes asked for so far are done */
  afterPasses<T>(fn: () => Promise<T>): Promise<T> {
    return this.passes.idle().then(fn);
  }

  private async once(config: DispenserConfig, mode: ReconcileMode): Promise<ReconcileResult> {
    const { engine, applier, routes, interrupted, services, log, signal } = this.opts;
    const instance = services.instance;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let actions: Action[] = [];
    let outcomes: ServiceOutcome[] = [];
    let error: DispenserError | undefined;
    try {
      const failedNetworks = await ensureNetworks(engine, config, instance, log, services.extraLabels);
      const desired = desiredServices(config, instance, services.desiredOptions());
      // Rollouts cut off by a crash are settled first, so the plan below sees their outcome; one
      // that cannot be settled keeps its containers and its service out of this pass.
      const unsettled = await interrupted.settle();
      const observed = await observe(engine, instance, desired);
      actions = plan({ desired, observed, instance: instance.name, mode, partial: this.opts.partial }).filter((a) => !touchesUnsettled(a, unsettled));
      for (const r of unsettled) outcomes.push({ service: r.service, action: 'recreate', ok: false, error: new DispenserError('ROLLOUT_RESUME_PENDING', `the interrupted rollout of ${r.service} is not settled yet`) });
      log.info({ mode, plan: summarize(actions) }, `reconcile (${mode}): ${summarize(actions)}`);
      // Before any slow work (pulls, dependency waits, rollouts): what already runs is served at
      // once and what does not answers 503, instead of the proxy waiting for the whole pass.
      void routes.send();
      outcomes = [...outcomes, ...(await applier.apply(actions, new Map(desired.map((d) => [d.service, d])), failedNetworks))];
    } catch (err) {
      error = wrapEngineError('RECONCILE_FAILED', 'reconcile failed', err);
      log.error({ code: error.code, hint: error.hint }, error.message);
    }
    const failed = outcomes.filter((o) => !o.ok);
    // what failed before its deploy (a pull, a dependency); the deploy's own failures are told already
    for (const o of failed) if (o.error && DEPLOYS.has(o.action)) this.opts.deployEvents?.failed(o.service, o.error, 'reconcile');
    if (services.config === config && !signal.aborted && (error || failed.length > 0)) {
      const delay = backoffDelay(this.retryAttempt++, this.opts.retryBaseMs ?? FAULT_RETRY.baseMs, this.opts.retryMaxMs ?? FAULT_RETRY.maxMs);
      log.warn({ services: failed.map((o) => o.service), delayMs: delay }, `retrying ${error ? 'reconcile' : failed.map((o) => o.service).join(', ')} in ${Math.round(delay / 1000)} s`);
      this.retryTimer = setTimeout(() => void this.reconcile(config, mode), delay);
      this.retryTimer.unref?.();
    } else if (!error && failed.length === 0) {
      this.retryAttempt = 0;
    }
    const published = error ? [] : await routes.publish();
    return { actions, outcomes, routes: published, ...(error ? { error } : {}) };
  }

  stop(): void {
    clearTimeout(this.retryTimer);
  }
}

/** an action of the plan that would touch a service or a container of a rollout not settled yet */
function touchesUnsettled(a: Action, unsettled: readonly RolloutRecord[]): boolean {
  return unsettled.some((r) => ('service' in a && a.service === r.service) || ('containerId' in a && (a.containerId === r.candidateId || a.containerId === r.oldId)));
}

function summarize(actions: readonly Action[]): string {
  const counts = new Map<string, number>();
  for (const a of actions) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do';
}
