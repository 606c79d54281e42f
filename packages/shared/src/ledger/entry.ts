import { z } from 'zod';
import { deployTriggers } from '../control/facts.js';

/**
 * One line of the deploy ledger (`.dispenser/ledger.jsonl`, docs/operations.md): something that
 * happened to a service, written once it is over. `deploy` is a new container for the service
 * (a failed health gate is a failed deploy with the gate's error code); `job` is a cron run of a
 * batch job that ended, with its exit code.
 */
export const ledgerEntrySchema = z.object({
  /** ISO time it finished */
  at: z.string(),
  service: z.string(),
  kind: z.enum(['deploy', 'job']),
  trigger: z.enum(deployTriggers),
  result: z.enum(['ok', 'failed']),
  /** error code of a failure (docs/reference/errors.md) */
  code: z.string().optional(),
  durationMs: z.number().int().nonnegative(),
  /** registry digest the service ran before, null when none was known (no container, local build) */
  oldDigest: z.string().nullable(),
  /** registry digest it runs after, null when unknown */
  newDigest: z.string().nullable(),
  /** a job's exit code */
  exitCode: z.number().int().optional(),
});
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

export interface ParsedLedger {
  /** oldest first, as in the file */
  entries: LedgerEntry[];
  /** lines that could not be read: a write cut short by a crash, or a line edited by hand */
  skipped: number;
}

/**
 * The ledger's text, line by line. A line that is not a valid entry is skipped and counted, never
 * fatal: a crash during an append leaves at most that one line torn, and every other line is
 * still worth showing.
 */
export function parseLedger(text: string): ParsedLedger {
  const entries: LedgerEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parseLine(line);
    if (entry) entries.push(entry);
    else skipped++;
  }
  return { entries, skipped };
}

function parseLine(line: string): LedgerEntry | undefined {
  try {
    const parsed = ledgerEntrySchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One entry as the line appended for it (newline included). */
export function encodeEntry(entry: LedgerEntry): string {
  return JSON.stringify(entry) + '\n';
}

/**
 * Retention: the file is rewritten down to the newest `keep` entries once it holds more than
 * twice that many, so a rewrite happens once every `keep` appends at most, not on each.
 */
export function needsCompaction(lines: number, keep: number): boolean {
  return lines > 2 * keep;
}
