import type { LedgerEntry } from './entry.js';

/** `dispenser history` without `-n`: this many entries */
export const HISTORY_DEFAULT_LIMIT = 20;

export interface HistoryQuery {
  /** only this service's entries */
  service?: string;
  /** at most this many, newest first */
  limit: number;
}

/** The entries a `history` request asks for, newest first. */
export function selectHistory(entries: readonly LedgerEntry[], query: HistoryQuery): LedgerEntry[] {
  const matching = query.service === undefined ? entries : entries.filter((e) => e.service === query.service);
  return [...matching].reverse().slice(0, query.limit);
}

const HEADERS = ['TIME', 'SERVICE', 'KIND', 'TRIGGER', 'DIGEST', 'RESULT', 'DURATION', 'EXIT'];

/** `dispenser history` as a table, one entry per row, in the order given. */
export function renderHistory(entries: readonly LedgerEntry[]): string[] {
  if (entries.length === 0) return ['no deploys recorded yet'];
  const rows = entries.map((e) => [
    e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    e.service,
    e.kind,
    e.trigger,
    digestChange(e.oldDigest, e.newDigest),
    e.result === 'ok' ? 'ok' : `failed${e.code ? ` (${e.code})` : ''}`,
    formatDuration(e.durationMs),
    e.exitCode === undefined ? '-' : String(e.exitCode),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), ...rows.map(line)];
}

/** `sha256:0123456789ab… → sha256:ba9876543210…` shortened to the first 12 hex digits of each */
export function digestChange(oldDigest: string | null, newDigest: string | null): string {
  const short = (d: string | null): string => (d === null ? '-' : d.replace(/^sha256:/, '').slice(0, 12));
  if (oldDigest === newDigest) return short(newDigest);
  return `${short(oldDigest)} → ${short(newDigest)}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}
