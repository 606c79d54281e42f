import type { ServiceProxyConfig } from '@dispenser/shared/config/types';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { Activities } from '../activities.js';
import type { DeployReason } from '../contracts.js';
import type { ContainerEngine } from '../docker/engine.js';
import { repoDigestFor } from '../docker/repo-digests.js';
import type { Applier } from '../reconcile/apply.js';
import type { DesiredService } from '../reconcile/desired.js';
import type { RoutePublisher } from '../route-publisher.js';
import type { Services } from '../services.js';
import { sameAsFailed, type FailedRollout } from './failures.js';
import type { RolloutFiles } from './files.js';
import { runRollout } from './procedure.js';
import { journalProgress } from './progress.js';
import { engineSteps } from './steps.js';
import { orchestratorMetrics } from '../metrics.js';

/** What a rollout works with; the runner and the settling of interrupted rollouts share them. */
export interface RolloutParts {
  engine: ContainerEngine;
  applier: Applier;
  routes: RoutePublisher;
  services: Services;
  files: RolloutFiles;
  activities: Activities;
}

export interface RolloutRunnerOptions extends RolloutParts {
  /** aborted when the orchestrator stops: health checks and drains end early */
  signal: AbortSignal;
}

/** rollout failures that say the new container itself is bad */
const IMAGE_FAILURES: ReadonlySet<string> = new Set(['ROLLOUT_UNHEALTHY', 'ROLLOUT_CONTAINER_EXITED']);

/**
 * Runs a rollout (rollout/procedure.ts with the engine's steps), records its progress in the
 * journal, and remembers a container that failed it: that config + image is not retried
 * automatically.
 */
export class RolloutRunner {
  constructor(private readonly opts: RolloutRunnerOptions) {}

  /** the last failed rollout of `service` (config hash, image id, registry digest, error code), if any */
  async lastFailure(service: string): Promise<Readonly<FailedRollout> | undefined> {
    return this.opts.files.failures()?.get(service);
  }

  /**
   * A container that failed its rollout is not tried again automatically with the same config
   * and image: reconcile (start, reload, its retries) keeps the old one; a registry-digest
   * trigger is refused (the watcher then waits for another digest). cron and manual triggers try.
   * Resolves with the id of the container that serves afterwards.
   */
  async run(d: DesiredService, proxy: ServiceProxyConfig, oldId: string, log: Logger, trigger: DeployReason | 'reconcile'): Promise<string> {
    const { engine, applier, routes, services, files, activities, signal } = this.opts;
    const image = await engine.inspectImage(d.image);
    const attempt = { hash: d.hash, imageId: image?.Id ?? d.image, digest: repoDigestFor(image?.RepoDigests ?? [], d.image) };
    const store = files.failures();
    const failed = await store?.get(d.service);
    if (sameAsFailed(failed, attempt) && (trigger === 'reconcile' || trigger === 'digest')) {
      const message = `not retrying the rollout of ${d.service}: this configuration and image${failed!.digest ? ` (${failed!.digest})` : ''} failed before (${failed!.code} at ${failed!.at}); the previous container keeps serving`;
      const hint = 'change the configuration or push a new image to try again';
      if (trigger === 'digest') throw new DispenserError('ROLLOUT_NOT_RETRIED', message, { hint });
      log.warn({ code: 'ROLLOUT_NOT_RETRIED', failedCode: failed!.code, image: d.image, digest: failed!.digest, hint }, message);
      return oldId;
    }
    const journal = files.journal();
    files.running.add(d.service);
    try {
      const id = await activities.during(`the rollout of ${d.service}`, () => runRollout(
        oldId,
        engineSteps({
          engine,
          createAndStart: (x, l) => applier.createAndStart(x, l),
          removeContainer: (x) => applier.removeContainer(x),
          routes,
          desired: d,
          proxy,
          network: services.instance.network.name,
          log,
          signal,
          redact: services.redact,
        }),
        journal ? journalProgress(journal, engine, d, oldId, log) : undefined,
      ));
      await journal?.clear(d.service);
      await store?.delete(d.service);
      return id;
    } catch (err) {
      const e = err instanceof DispenserError ? err : new DispenserError('ROLLOUT_FAILED', errorMessage(err), { cause: err });
      if (e.code === 'ROLLOUT_INCOMPLETE') {
        // the new container took over: keep routing to it unless a running container holds the name
        // again (then the old one still serves); not a failed image, so nothing to remember
        const holder = await services.ownContainer(d.service).catch(() => undefined);
        if (holder?.State.Running) routes.dropOverride(d.service);
        // the record stays: the next reconcile finishes the rollout from it (InterruptedRollouts)
        throw e;
      }
      routes.dropOverride(d.service);
      orchestratorMetrics.rollback(d.service);
      // rolled back (the candidate is removed, the old one serves): nothing left to resume
      await journal?.clear(d.service).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot remove the rollout record'));
      // only the image/config is to blame for these; a proxy that did not confirm or a missing bind
      // path on the host may be fixed without a config change, so reconcile keeps retrying those
      if (IMAGE_FAILURES.has(e.code)) await store?.set(d.service, { ...attempt, code: e.code, at: new Date().toISOString() });
      throw e;
    } finally {
      files.running.delete(d.service);
    }
  }
}
