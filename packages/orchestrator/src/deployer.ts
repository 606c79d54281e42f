import { DEPENDENCY_TIMEOUT_MS } from '@dispenser/shared/defaults';
import type { ServiceConfig } from '@dispenser/shared/config/types';
import { codeOr, DispenserError } from '@dispenser/shared/errors';
import { LABELS } from '@dispenser/shared/instance';
import { serviceLogger, type Logger } from '@dispenser/shared/log';
import type { Activities } from './activities.js';
import type { DeployReason } from './contracts.js';
import type { DeployRecords } from './deploy-records.js';
import type { ContainerEngine } from './docker/engine.js';
import type { KeyedLock } from './keyed-lock.js';
import type { DeployEvents } from './notify/deploy-events.js';
import type { Applier, PullMode } from './reconcile/apply.js';
import type { ReconcileMode } from './reconcile/loop.js';
import { awaitCondition } from './reconcile/dependencies.js';
import type { DesiredService } from './reconcile/desired.js';
import type { RoutePublisher } from './route-publisher.js';
import type { RolloutRunner } from './rollout/runner.js';
import type { Services } from './services.js';
import { orchestratorMetrics } from './metrics.js';

export interface ServiceDeployerOptions {
  engine: ContainerEngine;
  applier: Applier;
  rollouts: RolloutRunner;
  routes: RoutePublisher;
  services: Services;
  activities: Activities;
  /** the outcome of every deploy, for `dispenser status` */
  records: DeployRecords;
  /** the mode of the reconcile pass under way: a deploy of reconcile is recorded as its startup or reload */
  passMode: () => ReconcileMode | undefined;
  /** one operation at a time per service, shared with reconcile */
  lock: KeyedLock;
  log: Logger;
  /** how long a redeploy waits for its depends_on conditions; default 5 min */
  dependencyTimeoutMs?: number;
  /** aborted when the orchestrator stops: dependency waits end early */
  signal: AbortSignal;
  /** deploy-succeeded / -failed / -rolled-back ([[notify]]) */
  events: DeployEvents;
}

/** How a service gets its new container: redeploys (CD watcher, cron) and reconcile's deploys. */
export class ServiceDeployer {
  constructor(private readonly opts: ServiceDeployerOptions) {}

  /** see Deployer.redeploy */
  async redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void> {
    const { services, activities, lock } = this.opts;
    const d = services.desired(service);
    const svc = services.service(service);
    const log = serviceLogger(this.opts.log, service);
    await lock.run(service, () => activities.during(`the ${opts.reason} redeploy of ${service}`, () => this.opts.records.track(service, opts.reason, async () => {
      try {
        await this.redeployLocked(d, svc, opts, log);
      } catch (err) {
        // failures before the deploy itself (pull, name conflict, depends_on) are failed deploys too
        this.opts.events.failed(service, err, opts.reason, { image: d.image });
        throw err;
      }
    })));
    await this.opts.routes.publish();
  }

  private async redeployLocked(d: DesiredService, svc: ServiceConfig, opts: { reason: DeployReason; pull: boolean }, log: Logger): Promise<void> {
    const { engine, applier, services, signal } = this.opts;
    log.info({ reason: opts.reason, pull: opts.pull }, `redeploying ${d.service} (${opts.reason})`);
    // a digest-triggered deploy exists to run the new image: falling back to the old one would hide the failure
    const mode: PullMode = !opts.pull ? 'local-or-pull' : opts.reason === 'digest' ? 'pull-strict' : 'pull-or-local';
    await applier.ensureImage(d, mode, log);
    const existing = await engine.inspectContainer(d.containerName);
    if (existing && existing.Config.Labels?.[LABELS.managed] !== 'true') {
      throw new DispenserError('CONTAINER_NAME_CONFLICT', `a container named ${d.containerName} exists and is not managed by Dispenser; it was left alone`, {
        hint: `remove or rename it (docker rm -f ${d.containerName}) or rename the service`,
      });
    }
    for (const [dep, condition] of Object.entries(svc.dependsOn)) {
      if (!services.find(dep)) continue;
      await awaitCondition(engine, dep, services.desired(dep).containerName, condition, { timeoutMs: this.opts.dependencyTimeoutMs ?? DEPENDENCY_TIMEOUT_MS, log, signal });
    }
    await this.deploy(d, existing?.Id, log, opts.reason);
  }

  /**
   * One deploy of a service whose image is in place, for reconcile (create/recreate) and
   * redeploy alike. 'recreate': stop the old container, start the new one (Applier.replace).
   * 'rollout' (proxied services): start the new container beside the running one, health-gate
   * it, switch the proxy, drain and remove the old one (rollout/runner.ts). A rollout needs a
   * running old container to protect; without one, recreate is just as good and faster.
   */
  deploy(d: DesiredService, existingId: string | undefined, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    // a redeploy is recorded whole (pull included) by redeploy()
    if (trigger !== 'reconcile') return this.deployOnce(d, existingId, log, trigger);
    return this.opts.records.track(d.service, this.opts.passMode() ?? trigger, () => this.deployOnce(d, existingId, log, trigger));
  }

  private async deployOnce(d: DesiredService, existingId: string | undefined, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    try {
      const id = await this.deployNow(d, existingId, log, trigger);
      orchestratorMetrics.deploy(d.service, 'success');
      return id;
    } catch (err) {
      orchestratorMetrics.deploy(d.service, 'failure');
      throw err;
    }
  }

  private async deployNow(d: DesiredService, existingId: string | undefined, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    const { engine, applier, rollouts, services } = this.opts;
    let rollout = false;
    try {
      const old = existingId ? await engine.inspectContainer(existingId) : undefined;
      let id: string;
      if (!existingId || !old) id = await applier.createAndStart(d, log);
      else {
        const svc = services.find(d.service);
        rollout = d.strategy === 'rollout' && svc?.proxy !== undefined && old.State.Running && !hasHostPorts(d);
        id = rollout ? await rollouts.run(d, svc!.proxy!, existingId, log, trigger) : await applier.replace(existingId, d, log);
      }
      // the same id back: a rollout not retried, the old container still serves (logged as such)
      if (id !== existingId) this.opts.events.succeeded(d.service, trigger, d.image);
      return id;
    } catch (err) {
      // a failed rollout other than an interrupted one removed its candidate: the old container serves
      const rolledBack = rollout && codeOr(err, 'ROLLOUT_FAILED') !== 'ROLLOUT_INCOMPLETE';
      this.opts.events.failed(d.service, err, trigger, { image: d.image, rolledBack });
      throw err;
    }
  }
}

/** a rollout would run two containers publishing the same host ports at once */
function hasHostPorts(d: DesiredService): boolean {
  return Object.keys(d.spec.HostConfig?.PortBindings ?? {}).length > 0;
}
