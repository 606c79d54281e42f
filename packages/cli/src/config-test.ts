import { loadConfig } from '@dispenser/shared/config/load';
import { formatProblems } from '@dispenser/shared/config/format';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { reportError } from './report-error.js';

/** `dispenser --test`: validate and print every problem with a code frame. Returns the exit code. */
export interface Output {
  log(line: string): void;
  error(line: string): void;
}

export async function runConfigTest(configFile: string, out: Output): Promise<number> {
  let result;
  try {
    result = await loadConfig(configFile);
  } catch (err) {
    // loadConfig reports bad input as problems; reaching this is a bug, still no stack trace
    const bug = new DispenserError('CONFIG_INTERNAL_ERROR', `internal error while loading ${configFile}: ${errorMessage(err)}`, { hint: 'a bug in dispenser: report it with this message' });
    return reportError(bug, out.error);
  }
  if (result.ok) {
    out.log('Dispenser config is ok.');
    return 0;
  }
  out.error(formatProblems(result.problems, result.redact ? { redact: result.redact } : {}));
  return 1;
}
