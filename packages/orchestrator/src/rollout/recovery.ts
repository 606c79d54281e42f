import { routesMayPointToCandidate, type RolloutRecord } from './journal.js';

/** A container as seen when Dispenser resumes a rollout. */
export interface SeenContainer {
  id: string;
  running: boolean;
}

export interface RecoveryInput {
  record: RolloutRecord;
  /** the recorded candidate, looked up by id; undefined: it no longer exists */
  candidate: SeenContainer | undefined;
  /** whatever holds the service's container name now (normally the old container) */
  holder: SeenContainer | undefined;
}

/**
 * One action of a recovery, in the order given. The order carries the invariant: a container the
 * proxy may send traffic to is only stopped after a confirmed route table points elsewhere.
 */
export type RecoveryAction =
  /** publish routes with the service pointing at the candidate; wait for every worker's confirmation */
  | { kind: 'route-to-candidate'; id: string }
  /** publish routes computed from container names again; wait for confirmation */
  | { kind: 'route-by-name' }
  /** wait (bounded by drain_timeout) for requests still in flight on the old container */
  | { kind: 'drain'; id: string }
  | { kind: 'remove'; id: string; which: 'old' | 'candidate' }
  /** give the candidate the service's container name */
  | { kind: 'promote'; id: string; to: string }
  /** delete the record: the rollout is settled one way or the other */
  | { kind: 'forget' };

export interface RecoveryPlan {
  /** finish: the candidate becomes the service; roll-back: the old container stays; settled: only bookkeeping left */
  outcome: 'finish' | 'roll-back' | 'settled';
  actions: RecoveryAction[];
}

/**
 * Pure: how to settle a rollout that was cut off, from the last recorded step and what exists now
 * (the table is in docs/guides/zero-downtime.md). Before the switch the old container never lost
 * its traffic, so the candidate goes. From `switching` on, workers may route to the candidate, so
 * a running candidate is kept and the rollout finished; only a candidate that is gone or stopped
 * (it crashed) is given up, and only while the old container still runs.
 */
export function recoveryPlan({ record, candidate, holder }: RecoveryInput): RecoveryPlan {
  // the rename happened (recorded or not): the candidate is the service already
  if (record.stage === 'promoted' || (candidate && holder?.id === candidate.id)) {
    return { outcome: 'settled', actions: [{ kind: 'route-by-name' }, { kind: 'forget' }] };
  }
  const dropCandidate: RecoveryAction[] = candidate ? [{ kind: 'remove', id: candidate.id, which: 'candidate' }] : [];
  const rollBack: RecoveryPlan = { outcome: 'roll-back', actions: [{ kind: 'route-by-name' }, ...dropCandidate, { kind: 'forget' }] };

  if (!routesMayPointToCandidate(record.stage)) return rollBack;

  if (record.stage === 'old-removed') {
    // the old container is gone: whatever the candidate's state, it is all the service has
    if (!candidate) return { outcome: 'settled', actions: [{ kind: 'route-by-name' }, { kind: 'forget' }] };
    const clearName: RecoveryAction[] = holder ? [{ kind: 'remove', id: holder.id, which: 'old' }] : [];
    return { outcome: 'finish', actions: [...clearName, { kind: 'promote', id: candidate.id, to: record.containerName }, { kind: 'route-by-name' }, { kind: 'forget' }] };
  }

  if (!candidate?.running) {
    // the candidate died after taking traffic: the old one serves again if it can; if it cannot
    // either, reconcile starts or recreates the service's container afterwards
    return rollBack;
  }
  const finish: RecoveryAction[] = [{ kind: 'route-to-candidate', id: candidate.id }];
  if (holder) {
    if (holder.running && record.stage !== 'old-drained') finish.push({ kind: 'drain', id: holder.id });
    finish.push({ kind: 'remove', id: holder.id, which: 'old' });
  }
  finish.push({ kind: 'promote', id: candidate.id, to: record.containerName }, { kind: 'route-by-name' }, { kind: 'forget' });
  return { outcome: 'finish', actions: finish };
}
