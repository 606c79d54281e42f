import { dirname, resolve } from 'node:path';
import { loadConfig } from '@dispenser/shared/config/load';
import { formatOverride, formatProblem, formatProblems } from '@dispenser/shared/config/format';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { reportError } from './report-error.js';
import { loadEnvFile } from './env-file.js';

/** where the check prints: stdout for the verdict, stderr for the problems */
export interface Output {
  log(line: string): void;
  error(line: string): void;
}

/**
 * `dispenser --test`: validate and print every problem with a code frame. Returns the exit code.
 * `only`: `dispenser -t dev -s NAME…` validates those services (and dispenser.toml) alone.
 */
export async function checkConfig(configFile: string, out: Output, only?: readonly string[]): Promise<number> {
  try {
    // the daemon's environment: secret backends may need what .env holds
    loadEnvFile(dirname(resolve(configFile)));
  } catch (err) {
    return reportError(err, (line) => out.error(line));
  }
  let result;
  try {
    result = await loadConfig(configFile, only && only.length > 0 ? { only } : {});
  } catch (err) {
    // loadConfig reports bad input as problems; reaching this is a bug, still no stack trace
    const bug = new DispenserError('CONFIG_INTERNAL_ERROR', `internal error while loading ${configFile}: ${errorMessage(err)}`, { hint: 'a bug in dispenser: report it with this message' });
    return reportError(bug, out.error);
  }
  // later vars files win; say so (on stderr, with the other notes), since a value may not be the one the reader expects
  for (const o of result.overrides ?? []) out.error(formatOverride(o));
  if (result.ok) {
    const notices = result.notices ?? [];
    if (notices.length > 0) out.error(notices.map((n) => formatProblem(n, result.redact ? { redact: result.redact } : {})).join('\n\n') + '\n');
    out.log('Dispenser config is ok.');
    return 0;
  }
  out.error(formatProblems(result.problems, result.redact ? { redact: result.redact } : {}));
  return 1;
}
