import type { ConfigProblem } from './problem.js';
import type { LoadedMain, LoadedService } from './loaded.js';
import { describeWeekdays, parseCron } from './cron.js';
import { telemetrySchema } from './schema.js';
import { closest } from './suggest.js';

/**
 * What a valid config should still tell its author: forms the original Dispenser read
 * differently, and settings accepted but not acted on yet. Pure; printed by `--test` and logged
 * as warnings when the daemon starts or reloads.
 */
export function configNotices(main: LoadedMain, services: readonly LoadedService[]): ConfigProblem[] {
  return [...telemetry(main), ...services.flatMap(cronWeekdays)];
}

function telemetry(main: LoadedMain): ConfigProblem[] {
  const t = main.value.telemetry;
  if (!t) return [];
  const out: ConfigProblem[] = [];
  const known = Object.keys(telemetrySchema.shape);
  for (const key of Object.keys(t)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    out.push({ ...main.doc.problem('CONFIG_IGNORED_KEY', ['telemetry', key], `unknown key "${key}" in [telemetry] is ignored${guess ? `; did you mean "${guess}"?` : `; expected one of: ${known.join(', ')}`}`), severity: 'warning' });
  }
  if (t.enabled) {
    out.push({
      ...main.doc.problem('CONFIG_TELEMETRY_NOT_WRITTEN', ['telemetry', 'enabled'], 'telemetry is enabled, but this version of Dispenser does not write telemetry tables yet: nothing is written to base_uri, no OTLP endpoint is opened and no OTEL_* variables are set in containers; the rest of the configuration works as usual', 'value'),
      severity: 'warning',
    });
  }
  return out;
}

/**
 * The original's cron library numbered weekdays from Sunday = 1, so its 6- and 7-field
 * expressions meant one day earlier than they do here (standard cron, 0 and 7 = Sunday).
 */
function cronWeekdays(s: LoadedService): ConfigProblem[] {
  const cron = s.value.dispenser.cron;
  // a macro (@weekly) names its day the same way in both: there is no number to reread
  if (cron === undefined || cron.trim().startsWith('@')) return [];
  const r = parseCron(cron);
  if (!r.ok || r.schedule.numericWeekdays === undefined) return [];
  const field = r.schedule.numericWeekdays;
  const here = describeWeekdays(r.schedule.weekdays);
  // only a field of plain numbers (no names, no 0, which the original refused) shifts cleanly
  const there = /[a-z]/i.test(field) || /(^|[^0-9])0/.test(field) ? '' : `, where "${field}" meant ${describeWeekdays([...new Set(r.schedule.weekdays.map((d) => (d + 6) % 7))].sort((a, b) => a - b))}`;
  const message = `the weekday field "${field}" means ${here} here: weekday numbers follow standard cron (0 and 7 = Sunday, 1 = Monday); the original Dispenser counted Sunday as 1${there}; write day names (e.g. MON-FRI) to make the schedule plain`;
  return [{ ...s.doc.problem('CONFIG_CRON_WEEKDAYS', ['dispenser', 'cron'], message, 'value'), severity: 'note' }];
}
