import { join } from 'node:path';
import { errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { Services } from '../services.js';
import { FailureStore } from './failures.js';
import { RolloutJournal, type RolloutRecord } from './journal.js';

/**
 * The rollout files of the current state dir: the journal of rollouts under way and the memory
 * of failed ones; and which rollouts run in this process, so their live journal records are not
 * taken for ones a crash left behind.
 */
export class RolloutFiles {
  /** services whose rollout runs in this process right now */
  readonly running = new Set<string>();
  private failureStore: FailureStore | undefined;

  constructor(
    private readonly services: Services,
    private readonly log: Logger,
  ) {}

  /** the failure store of the current state dir */
  failures(): FailureStore | undefined {
    const stateDir = this.services.config?.stateDir;
    if (!stateDir) return undefined;
    const file = join(stateDir, 'rollout-failures.json');
    if (this.failureStore?.file !== file) {
      this.failureStore = new FailureStore(file, (err) => this.log.warn({ file, err: errorMessage(err) }, 'cannot read or write the record of failed rollouts'));
    }
    return this.failureStore;
  }

  /** the rollout journal of the current state dir */
  journal(): RolloutJournal | undefined {
    const stateDir = this.services.config?.stateDir;
    return stateDir ? new RolloutJournal(join(stateDir, 'rollouts')) : undefined;
  }

  /** the journal's records of rollouts not running in this process: cut off by a crash or a stop */
  async interrupted(): Promise<RolloutRecord[]> {
    const journal = this.journal();
    if (!journal) return [];
    const records = await journal.list((file) => this.log.warn({ code: 'ROLLOUT_RECORD_UNREADABLE', file, hint: 'remove the file if no rollout is under way' }, `ignoring an unreadable rollout record ${file}`));
    return records.filter((r) => !this.running.has(r.service));
  }
}
