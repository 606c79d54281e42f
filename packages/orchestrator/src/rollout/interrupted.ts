import type { ServiceProxyConfig } from '@dispenser/shared/config/types';
import { errorMessage } from '@dispenser/shared/errors';
import { serviceLogger, type Logger } from '@dispenser/shared/log';
import { sleep } from '../backoff.js';
import { wrapEngineError } from '../docker/errors.js';
import type { KeyedLock } from '../keyed-lock.js';
import { drain, openConnections } from './drain.js';
import { routesMayPointToCandidate, type RolloutRecord } from './journal.js';
import { resumeFailure, resumeRollout } from './resume.js';
import type { RolloutParts } from './runner.js';

export interface InterruptedRolloutsOptions extends RolloutParts {
  /** one operation at a time per service, shared with reconcile and redeploys */
  lock: KeyedLock;
  log: Logger;
  /** aborted when the orchestrator stops: drains end early */
  signal: AbortSignal;
}

/** Rollouts a crash (or a stop) cut off, as their journal records tell: routed and settled on start. */
export class InterruptedRollouts {
  constructor(private readonly opts: InterruptedRolloutsOptions) {}

  /**
   * At start, before the first route table: a rollout that was cut off after the switch left the
   * proxy routing to its candidate. Keep it that way (the old container may be half stopped) until
   * settle() decides; routing by name here is what made a restart send traffic back to it.
   */
  async restoreRoutes(): Promise<void> {
    const { engine, routes, files, log } = this.opts;
    try {
      for (const r of await files.interrupted()) {
        if (!routesMayPointToCandidate(r.stage) || r.stage === 'promoted') continue;
        const info = await engine.inspectContainer(r.candidateId);
        if (info?.State.Running) routes.override(r.service, r.candidateId);
      }
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot read the rollout records before the first route table');
    }
  }

  /** Settles every interrupted rollout (rollout/resume.ts); returns the records that are still open. */
  async settle(): Promise<RolloutRecord[]> {
    const { engine, applier, routes, services, files, activities, lock } = this.opts;
    const journal = files.journal();
    if (!journal) return [];
    const open: RolloutRecord[] = [];
    for (const listed of await files.interrupted()) {
      const log = serviceLogger(this.opts.log, listed.service);
      await lock.run(listed.service, async () => {
        // a redeploy that held the lock may have run a new rollout meanwhile: act on the record now
        const record = files.running.has(listed.service) ? undefined : await journal.get(listed.service);
        if (!record) return;
        const svc = services.find(record.service);
        try {
          await activities.during(`settling the interrupted rollout of ${record.service}`, () =>
            resumeRollout(record, {
              journal,
              inspect: async (x) => {
                const info = await engine.inspectContainer(x);
                return info ? { id: info.Id, running: info.State.Running } : undefined;
              },
              routeTo: (service, id) => routes.routeTo(service, id),
              drain: (_service, id) => this.drainOld(id, svc?.proxy, log),
              remove: (id) => applier.removeContainer(id),
              rename: (id, to) => engine.renameContainer(id, to),
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
  private async drainOld(id: string, proxy: ServiceProxyConfig | undefined, log: Logger): Promise<void> {
    try {
      const info = await this.opts.engine.inspectContainer(id);
      if (!info?.State.Running || !proxy) return;
      const pid = info.State.Pid;
      const r = await drain(proxy.drainTimeoutMs, { connections: () => openConnections(pid, proxy.servicePort), sleep: (ms) => sleep(ms, this.opts.signal), now: Date.now });
      log.info({ method: r.method, waitedMs: r.waitedMs, open: r.open }, 'old container drained');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot watch the old container drain: removing it');
    }
  }
}
