import { dirname, join } from 'node:path';
import type { History, HistoryParams } from '@dispenser/shared/control/protocol';
import { LEDGER_FILE_NAME } from '@dispenser/shared/defaults';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { readLedger } from '@dispenser/shared/ledger/file';
import { HISTORY_DEFAULT_LIMIT, selectHistory } from '@dispenser/shared/ledger/history';

/** The ledger the orchestrator writes (`.dispenser/ledger.jsonl`), beside the control socket. */
export function ledgerPathFor(controlSocket: string): string {
  return join(dirname(controlSocket), LEDGER_FILE_NAME);
}

/**
 * A `history` request, answered by the supervisor from the ledger file itself: it is there while
 * the orchestrator restarts, and reading a file needs no round trip to it.
 */
export function readHistory(ledgerPath: string, params: HistoryParams): History {
  let parsed;
  try {
    parsed = readLedger(ledgerPath);
  } catch (err) {
    throw new DispenserError('LEDGER_UNREADABLE', `cannot read the deploy ledger ${ledgerPath}: ${errorMessage(err)}`, {
      cause: err,
      hint: "the daemon's user must be able to read the state directory",
    });
  }
  const query = { limit: params.limit ?? HISTORY_DEFAULT_LIMIT, ...(params.service !== undefined ? { service: params.service } : {}) };
  return { entries: selectHistory(parsed.entries, query), skipped: parsed.skipped };
}
