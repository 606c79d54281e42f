import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerEngine } from '../docker/engine.js';
import type { DesiredService } from '../reconcile/desired.js';
import type { RolloutJournal, RolloutRecord, RolloutStage } from './journal.js';
import type { RolloutProgress } from './procedure.js';

/** stages after which a failed record write only warns */
const AFTER_SWITCH: ReadonlySet<RolloutStage> = new Set(['switched', 'old-drained', 'old-removed', 'promoted']);

/**
 * Records each step of the rollout of `d` in the journal, so that a crash can be resumed from
 * it. Before the switch a failed write fails the rollout (it could not be resumed); after it,
 * the new container serves already and finishing is safer than stopping half way.
 */
export function journalProgress(journal: RolloutJournal, engine: ContainerEngine, d: DesiredService, oldId: string, log: Logger): RolloutProgress {
  let candidateName: string | undefined;
  return async (stage, candidateId) => {
    // for the log lines of a later resume; the id is what identifies it
    candidateName ??= (await engine.inspectContainer(candidateId).catch(() => undefined))?.Name.replace(/^\//, '') ?? candidateId.slice(0, 12);
    const record: RolloutRecord = { service: d.service, stage, containerName: d.containerName, candidateId, candidateName, oldId, at: new Date().toISOString() };
    try {
      await journal.record(record);
      log.info({ rolloutStep: stage, file: journal.dir }, `rollout of ${d.service}: step "${stage}" recorded`);
    } catch (err) {
      const e = new DispenserError('ROLLOUT_JOURNAL_FAILED', `cannot record the rollout step "${stage}" in ${journal.dir}: ${errorMessage(err)}`, {
        cause: err,
        hint: 'check that the state directory is writable and the disk not full',
      });
      if (AFTER_SWITCH.has(stage)) {
        log.warn({ code: e.code, hint: e.hint }, e.message);
        return;
      }
      throw e;
    }
  };
}
