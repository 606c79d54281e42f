import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LEDGER_KEEP_ENTRIES } from '../defaults.js';
import { encodeEntry, needsCompaction, parseLedger, type LedgerEntry, type ParsedLedger } from './entry.js';

/** owner read/write, group read: `dispenser history` is run by members of the daemon's group */
const FILE_MODE = 0o640;

/**
 * The deploy ledger on disk: an append-only JSON-lines file. Each entry is one write() of one
 * whole line followed by fsync, so a crash (or kill -9) loses at most the entry being written and
 * leaves the lines before it intact; a torn last line is skipped when read (parseLedger) and
 * closed with a newline before the next append so it cannot swallow it. Retention rewrites the
 * file through a temp file and a rename, which replaces it whole or not at all.
 *
 * Synchronous on purpose: an append is a few hundred bytes, once per deploy, and doing it in one
 * call keeps two appends from interleaving.
 */
export class LedgerFile {
  /** lines in the file, counted on the first append */
  private lines: number | undefined;

  constructor(
    readonly path: string,
    private readonly keep = LEDGER_KEEP_ENTRIES,
  ) {}

  /** Appends one entry durably; throws when the file cannot be written. */
  append(entry: LedgerEntry): void {
    if (this.lines === undefined) this.lines = this.prepare();
    const fd = openSync(this.path, 'a', FILE_MODE);
    try {
      writeSync(fd, encodeEntry(entry));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.lines++;
    if (needsCompaction(this.lines, this.keep)) this.compact();
  }

  /** Everything readable in the file, oldest first; an absent file is an empty ledger. */
  read(): ParsedLedger {
    return readLedger(this.path);
  }

  /** creates the directory, counts the lines and ends a torn last line, so the next append starts on its own line */
  private prepare(): number {
    // the supervisor creates the state directory for its control socket, unless that failed
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
    if (!existsSync(this.path)) return 0;
    const text = readFileSync(this.path, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) {
      const fd = openSync(this.path, 'a');
      try {
        writeSync(fd, '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return text.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** keeps the newest `keep` entries: temp file, fsync, rename over the ledger, fsync the directory */
  private compact(): void {
    const { entries } = this.read();
    const kept = entries.slice(-this.keep);
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w', FILE_MODE);
    try {
      writeSync(fd, kept.map(encodeEntry).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    syncDirectory(dirname(this.path));
    this.lines = kept.length;
  }
}

/** The ledger at `path`, oldest first; an absent file is an empty ledger. */
export function readLedger(path: string): ParsedLedger {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw err;
  }
  return parseLedger(text);
}

/** makes a rename durable; some file systems cannot open a directory, and then it is as durable as it gets */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
