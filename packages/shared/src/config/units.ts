/** Pure parsers for the unit-carrying strings of the config: durations, memory sizes, CPU counts. */

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** HSTS max-age for `hsts = true`: the one year browsers' preload lists ask for. */
export const HSTS_ONE_YEAR_SECONDS = 31_536_000;
export const DURATION_EXPECTED = 'a duration string like "500ms", "5s", "2m", "1h" or "1m30s"';

/** "500ms", "5s", "1.5s", "2m", "1h", "1m30s", "7d" → milliseconds. */
export function parseDuration(text: string): Parsed<number> {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let at = 0;
  if (trimmed === '') return { ok: false, expected: DURATION_EXPECTED };
  while (at < trimmed.length) {
    part.lastIndex = at;
    const m = part.exec(trimmed);
    if (!m) return { ok: false, expected: DURATION_EXPECTED };
    total += Number(m[1]) * (DURATION_UNITS[m[2]!] ?? 0);
    at = part.lastIndex;
  }
  const value = Math.round(total);
  // "0.4ms" would round to 0, which means "off" for a timeout: say so instead of guessing
  if (Math.abs(total - value) > 1e-6) return { ok: false, expected: `${DURATION_EXPECTED}, in whole milliseconds` };
  return { ok: true, value };
}

/** The longest wait a Node timer can take (2^31 - 1 ms, about 24.8 days): longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration that arms a timer: at most MAX_TIMER_MS. */
export function parseTimerDuration(text: string): Parsed<number> {
  const r = parseDuration(text);
  if (r.ok && r.value > MAX_TIMER_MS) return { ok: false, expected: `${DURATION_EXPECTED}, at most "24d" (longer waits are beyond what a timer can hold)` };
  return r;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };
export const MEMORY_EXPECTED = 'a memory size like "512m", "1g" or "65536k" (suffix b, k/kb, m/mb, g/gb; binary units)';

/** "64m" → 67108864. A bare integer is bytes. Units are binary, as Docker's are. */
export function parseMemory(input: string | number): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input > 0 ? { ok: true, value: input } : { ok: false, expected: MEMORY_EXPECTED };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  const unit = m ? MEMORY_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return { ok: false, expected: MEMORY_EXPECTED };
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes > 0 ? { ok: true, value: bytes } : { ok: false, expected: MEMORY_EXPECTED };
}

export const CPUS_EXPECTED = 'a positive decimal number of CPUs like "0.5" or "2"';

/** "0.5" → 500000000 nano-CPUs (Docker's NanoCpus). */
export function parseCpus(input: string | number): Parsed<number> {
  const text = typeof input === 'number' ? String(input) : input.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return { ok: false, expected: CPUS_EXPECTED };
  const nano = Math.round(Number(text) * 1e9);
  return nano > 0 ? { ok: true, value: nano } : { ok: false, expected: CPUS_EXPECTED };
}
