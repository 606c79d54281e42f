import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { RolloutJournal, RolloutRecord } from './journal.js';
import { recoveryPlan, type RecoveryAction, type RecoveryPlan, type SeenContainer } from './recovery.js';

/** What resuming needs from the engine, the proxy and the drain; the orchestrator provides it. */
export interface ResumeDeps {
  journal: RolloutJournal;
  /** id and running state of a container by id or name; undefined when it does not exist */
  inspect(idOrName: string): Promise<SeenContainer | undefined>;
  /** route `service` to container `id` (undefined: by name); true once every proxy worker confirmed */
  routeTo(service: string, id: string | undefined): Promise<boolean>;
  /** bounded by the service's drain_timeout; never throws */
  drain(service: string, id: string): Promise<void>;
  /** stop (graceful) and remove */
  remove(id: string): Promise<void>;
  rename(id: string, to: string): Promise<void>;
  log: Logger;
}

/**
 * Settles one recorded rollout: looks at what exists, asks recovery.ts what to do and does it in
 * that order. The record is rewritten after the steps that change what a later restart would
 * decide (old removed, promoted), so a crash during the recovery resumes from there again.
 * Throws (record kept) when the proxy does not confirm a route change: nothing is stopped then.
 */
export async function resumeRollout(record: RolloutRecord, deps: ResumeDeps): Promise<RecoveryPlan> {
  const [candidate, holder] = await Promise.all([deps.inspect(record.candidateId), deps.inspect(record.containerName)]);
  const p = recoveryPlan({ record, candidate, holder });
  deps.log.warn(
    { code: 'ROLLOUT_RESUMED', stage: record.stage, outcome: p.outcome, candidate: record.candidateName, actions: p.actions.map((a) => a.kind) },
    `the rollout of ${record.service} was cut off after step "${record.stage}": ${describe(p)}`,
  );
  let current = record;
  const advance = async (stage: RolloutRecord['stage']): Promise<void> => {
    current = { ...current, stage, at: new Date().toISOString() };
    await deps.journal.record(current);
  };
  for (const a of p.actions) await run(a, record, deps, advance);
  return p;
}

async function run(a: RecoveryAction, record: RolloutRecord, deps: ResumeDeps, advance: (stage: RolloutRecord['stage']) => Promise<void>): Promise<void> {
  switch (a.kind) {
    case 'route-to-candidate':
    case 'route-by-name':
      if (!(await deps.routeTo(record.service, a.kind === 'route-to-candidate' ? a.id : undefined))) {
        throw new DispenserError('ROLLOUT_RESUME_ROUTES_UNCONFIRMED', `cannot settle the interrupted rollout of ${record.service}: the proxy workers did not confirm the route table`, {
          hint: 'nothing was stopped; Dispenser tries again on its next reconcile (look for proxy worker errors in the log)',
        });
      }
      return;
    case 'drain':
      await deps.drain(record.service, a.id);
      await advance('old-drained');
      return;
    case 'remove':
      await deps.remove(a.id);
      if (a.which === 'old') await advance('old-removed');
      return;
    case 'promote':
      await deps.rename(a.id, a.to);
      await advance('promoted');
      deps.log.info({ container: a.to, id: a.id.slice(0, 12) }, `rollout of ${record.service} complete after the restart: ${a.to} is the new container`);
      return;
    case 'forget':
      await deps.journal.clear(record.service);
      return;
  }
}

function describe(p: RecoveryPlan): string {
  if (p.outcome === 'finish') return 'the new container keeps the traffic and the rollout is finished';
  if (p.outcome === 'roll-back') return 'routes go back to the previous container and the new one is removed; the rollout starts over';
  return 'the new container already holds the name; only the bookkeeping is left';
}

/** for log lines about a failed resume */
export function resumeFailure(service: string, err: unknown): DispenserError {
  return err instanceof DispenserError
    ? err
    : new DispenserError('ROLLOUT_RESUME_FAILED', `cannot settle the interrupted rollout of ${service}: ${errorMessage(err)}`, {
        cause: err,
        hint: 'the record is kept in the state directory; Dispenser tries again on its next reconcile',
      });
}
