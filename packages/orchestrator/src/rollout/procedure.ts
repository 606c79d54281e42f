import { DispenserError, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import type { RolloutStage } from './journal.js';

/**
 * The order of a zero-downtime rollout, apart from how each step is done (rollout/steps.ts does
 * them against the engine and the proxy; tests use fakes). The invariant: the old container is
 * only touched after every proxy worker routes to a healthy new one; any failure before that
 * point removes the new container and leaves the old one serving, untouched.
 */
export interface RolloutSteps {
  /** create and start the new container under a side name; resolves with its id */
  startCandidate(): Promise<string>;
  /** resolves once healthy (with what proved it); rejects with a DispenserError otherwise */
  waitHealthy(candidateId: string): Promise<string>;
  /** route the service to the candidate; resolves once every proxy worker acknowledged */
  switchRoutes(candidateId: string): Promise<void>;
  /** route the service to whatever holds its name again (after a failed switch) */
  revertRoutes(): Promise<void>;
  /** wait (bounded by drain_timeout) for requests in flight on the old container */
  drainOld(oldId: string): Promise<void>;
  removeOld(oldId: string): Promise<void>;
  /** give the candidate the service's container name */
  promote(candidateId: string): Promise<void>;
  /** routes computed from container names again, now that the candidate holds the name */
  settleRoutes(): Promise<void>;
  /** report why the candidate failed (with its last log lines) and remove it */
  discard(candidateId: string, cause: DispenserError): Promise<void>;
}

export type RolloutStep = keyof RolloutSteps;

/**
 * Called at each step boundary with the candidate's id, so a restart can tell how far the rollout
 * got (rollout/journal.ts). Before the switch a rejection fails the rollout (a rollout that could
 * not be resumed is not started); `switching` is reported before the routes change.
 */
export type RolloutProgress = (stage: RolloutStage, candidateId: string) => Promise<void>;

const noProgress: RolloutProgress = async () => undefined;

export async function runRollout(oldId: string, steps: RolloutSteps, progress: RolloutProgress = noProgress): Promise<string> {
  const candidate = await steps.startCandidate();
  try {
    await progress('candidate-started', candidate);
    await steps.waitHealthy(candidate);
    await progress('healthy', candidate);
  } catch (err) {
    const cause = asError('ROLLOUT_UNHEALTHY', err);
    await steps.discard(candidate, cause);
    throw cause;
  }
  try {
    await progress('switching', candidate);
    await steps.switchRoutes(candidate);
  } catch (err) {
    const cause = asError('ROLLOUT_ROUTES_UNCONFIRMED', err);
    // some workers may already send traffic to the candidate: point them back before removing it
    await steps.revertRoutes();
    await steps.discard(candidate, cause);
    throw cause;
  }
  // From here the new container serves; a failure only leaves the clean-up unfinished, it never
  // rolls back (the candidate is healthy and already has the traffic).
  try {
    await progress('switched', candidate);
    await steps.drainOld(oldId);
    await progress('old-drained', candidate);
    await steps.removeOld(oldId);
    await progress('old-removed', candidate);
    await steps.promote(candidate);
    await progress('promoted', candidate);
    await steps.settleRoutes();
  } catch (err) {
    throw new DispenserError('ROLLOUT_INCOMPLETE', `the new container serves, but finishing the rollout failed: ${errorMessage(err)}`, {
      cause: err,
      hint: 'Dispenser finishes it on its next reconcile (a left-over container is removed or renamed)',
    });
  }
  return candidate;
}

function asError(code: ErrorCode, err: unknown): DispenserError {
  return err instanceof DispenserError ? err : new DispenserError(code, errorMessage(err), { cause: err });
}
