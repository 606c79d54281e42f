import { loadConfig } from '@dispenser/shared/config/load';
import { formatProblem, formatProblems } from '@dispenser/shared/config/format';

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
    out.error(`dispenser --test: internal error while loading ${configFile}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  if (result.ok) {
    const notices = result.notices ?? [];
    if (notices.length > 0) out.error(notices.map((n) => formatProblem(n, result.redact ? { redact: result.redact } : {})).join('\n\n') + '\n');
    out.log('Dispenser config is ok.');
    return 0;
  }
  out.error(formatProblems(result.problems, result.redact ? { redact: result.redact } : {}));
  return 1;
}
