import cronParser from 'cron-parser';

/**
 * Cron expressions as service.toml takes them, and when they fire. One home for both, so what
 * `--test` accepts is exactly what the scheduler runs:
 *   5 fields   minute hour day month weekday (standard cron)
 *   6 fields   second first (the original Dispenser's form)
 *   7 fields   second first, year last (the original's optional year)
 *   @yearly @annually @monthly @weekly @daily @midnight @hourly
 * Weekday numbers are standard cron: 0 and 7 are Sunday.
 */

export const CRON_EXPECTED = 'a cron expression with 5 fields (minute hour day month weekday), 6 (seconds first), 7 (seconds first, year last), or @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly';

/** Six fields, seconds first, for each macro. */
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const MIN_YEAR = 1970;
const MAX_YEAR = 2099;

export interface CronSchedule {
  /** the weekday field as written, when it is given with numbers (not names, "*" or "?") */
  readonly numericWeekdays?: string;
  /** the days the weekday field selects, 0 = Sunday … 6 = Saturday */
  readonly weekdays: readonly number[];
  /** the first firing strictly after `after`; undefined when it never fires again */
  next(after: Date): Date | undefined;
}

/** `expected`: what was wrong, phrased as what was expected ("expected …; got …") */
export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; expected: string };

export function parseCron(expression: string): CronParse {
  const written = expression.trim();
  const macro = MACROS[written.toLowerCase()];
  const fields = (macro ?? written).split(/\s+/);
  if (!macro && written.startsWith('@')) return { ok: false, expected: CRON_EXPECTED };
  if (fields.length < 5 || fields.length > 7) return { ok: false, expected: `${CRON_EXPECTED}; got ${fields.length} field${fields.length === 1 ? '' : 's'}` };
  const six = fields.length === 5 ? ['0', ...fields] : fields.slice(0, 6);
  const yearField = fields.length === 7 ? fields[6]! : undefined;
  const years = yearField === undefined ? undefined : parseYears(yearField);
  if (years && !years.ok) return { ok: false, expected: years.expected };
  const sixFields = six.join(' ');
  let weekdays: number[];
  try {
    const parsed = cronParser.parseExpression(sixFields);
    weekdays = [...new Set(parsed.fields.dayOfWeek.map((d) => d % 7))].sort((a, b) => a - b);
  } catch (err) {
    return { ok: false, expected: `a valid cron expression: ${err instanceof Error ? err.message : String(err)}` };
  }
  const weekdayField = six[5]!;
  // "#2" (second such weekday of the month) and "/2" (a step) are counts, not weekday numbers
  const numeric = /\d/.test(weekdayField.replace(/#\d+|\/\d+/g, ''));
  const inYear = years?.ok ? years.test : undefined;
  const lastYear = years?.ok ? years.last : MAX_YEAR;
  return {
    ok: true,
    schedule: {
      ...(numeric && fields.length > 5 ? { numericWeekdays: weekdayField } : {}),
      weekdays,
      next: (after) => nextFiring(sixFields, after, inYear, lastYear),
    },
  };
}

function nextFiring(sixFields: string, after: Date, inYear: ((year: number) => boolean) | undefined, lastYear: number): Date | undefined {
  let from = after;
  for (;;) {
    const year = nextYear(from.getFullYear(), inYear, lastYear);
    if (year === undefined) return undefined;
    // jump over the years the year field leaves out, rather than stepping through them
    if (year > from.getFullYear()) from = new Date(year, 0, 1, 0, 0, -1);
    let at: Date;
    try {
      at = cronParser.parseExpression(sixFields, { currentDate: from }).next().toDate();
    } catch {
      return undefined; // no firing within the parser's reach (e.g. 30 February)
    }
    if (!inYear || inYear(at.getFullYear())) return at;
    from = new Date(at.getFullYear() + 1, 0, 1, 0, 0, -1);
  }
}

function nextYear(from: number, inYear: ((year: number) => boolean) | undefined, lastYear: number): number | undefined {
  if (!inYear) return from;
  for (let y = Math.max(from, MIN_YEAR); y <= lastYear; y++) if (inYear(y)) return y;
  return undefined;
}

type YearsParse = { ok: true; test: (year: number) => boolean; last: number } | { ok: false; expected: string };
const YEAR_EXPECTED = `a year field (7th) of "*", a year ${MIN_YEAR}–${MAX_YEAR}, a range like 2030-2035, a list like 2030,2032 or a step like */2`;

/** "*", "?", "2030", "2030-2035", "2030,2032", "*\/2", "2030/2", "2030-2040/5". */
function parseYears(field: string): YearsParse {
  const parts: { from: number; to: number; step: number }[] = [];
  for (const part of field.split(',')) {
    const m = /^(\*|\?|\d{4})(?:-(\d{4}))?(?:\/(\d+))?$/.exec(part);
    if (!m || ((m[1] === '*' || m[1] === '?') && m[2] !== undefined) || (m[1] === '?' && m[3] !== undefined)) return { ok: false, expected: YEAR_EXPECTED };
    const star = m[1] === '*' || m[1] === '?';
    const from = star ? MIN_YEAR : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : star || m[3] !== undefined ? MAX_YEAR : from;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (from < MIN_YEAR || to > MAX_YEAR || from > to || step < 1) return { ok: false, expected: YEAR_EXPECTED };
    parts.push({ from, to, step });
  }
  return {
    ok: true,
    test: (y) => parts.some((p) => y >= p.from && y <= p.to && (y - p.from) % p.step === 0),
    last: Math.max(...parts.map((p) => p.to)),
  };
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** [1,2,3,4,5] → "Monday–Friday"; [0,3] → "Sunday, Wednesday". */
export function describeWeekdays(days: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j++;
    const a = DAY_NAMES[days[i]!]!;
    const b = DAY_NAMES[days[j]!]!;
    runs.push(j === i ? a : j === i + 1 ? `${a}, ${b}` : `${a}–${b}`);
    i = j + 1;
  }
  return runs.join(', ');
}
