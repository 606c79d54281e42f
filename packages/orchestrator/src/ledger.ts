import { join } from 'node:path';
import { LEDGER_FILE_NAME } from '@dispenser/shared/defaults';
import { errorMessage } from '@dispenser/shared/errors';
import type { LedgerEntry } from '@dispenser/shared/ledger/entry';
import { LedgerFile } from '@dispenser/shared/ledger/file';
import type { Logger } from '@dispenser/shared/log';

/** Where deploys and cron runs are recorded (deploy-records.ts); tests use an in-memory one. */
export interface Ledger {
  append(entry: LedgerEntry): void;
  /** every entry kept, oldest first */
  entries(): LedgerEntry[];
}

/**
 * The ledger file in the state directory of the current configuration (`.dispenser/ledger.jsonl`,
 * docs/operations.md). The state directory is known once a configuration is loaded; before that,
 * and when the file cannot be written, nothing is recorded and the deploy goes on: the ledger is a
 * record, never a reason for a deploy to fail.
 */
export class StateDirLedger implements Ledger {
  private file: LedgerFile | undefined;

  constructor(
    private readonly stateDir: () => string | undefined,
    private readonly log: Logger,
  ) {}

  append(entry: LedgerEntry): void {
    const file = this.current();
    if (!file) return;
    try {
      file.append(entry);
    } catch (err) {
      this.log.warn({ code: 'LEDGER_WRITE_FAILED', file: file.path, err: errorMessage(err) }, `cannot record the ${entry.kind} of ${entry.service} in the deploy ledger: ${errorMessage(err)}`);
    }
  }

  entries(): LedgerEntry[] {
    const file = this.current();
    if (!file) return [];
    try {
      const { entries, skipped } = file.read();
      if (skipped > 0) this.log.warn({ file: file.path, skipped }, `skipped ${skipped} unreadable line(s) of the deploy ledger (a write cut short by a crash)`);
      return entries;
    } catch (err) {
      this.log.warn({ file: file.path, err: errorMessage(err) }, `cannot read the deploy ledger: ${errorMessage(err)}`);
      return [];
    }
  }

  private current(): LedgerFile | undefined {
    const dir = this.stateDir();
    if (!dir) return undefined;
    const path = join(dir, LEDGER_FILE_NAME);
    if (this.file?.path !== path) this.file = new LedgerFile(path);
    return this.file;
  }
}
