import { parseDuration } from '@dispenser/shared/config/units';

/**
 * `dispenser logs --since T`: a duration back from now ("10m", "2h", "1d", as in the
 * configuration) or a date ("2026-12-05", "2026-12-05T10:00:00Z"). Returns Unix seconds, or
 * undefined when `text` is neither.
 */
export function parseSince(text: string, now: Date): number | undefined {
  const back = parseDuration(text);
  if (back.ok) return Math.floor((now.getTime() - back.value) / 1000);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.floor(at / 1000);
}
