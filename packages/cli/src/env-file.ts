import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { DispenserError, errorCode, errorMessage } from '@dispenser/shared/errors';

export const ENV_FILE = '.env';

export interface EnvFileLoad {
  file: string;
  /** names taken from the file (values are never reported: the file holds credentials) */
  set: string[];
  /** names the file defines but the environment had already: the environment wins */
  kept: string[];
}

/**
 * Loads `.env` of the configuration directory into `env`, as the original Dispenser does at start
 * (credentials of secret backends, e.g. GOOGLE_APPLICATION_CREDENTIALS, live there). A variable
 * already set is not overridden, so the unit's Environment= and a shell's exports win. No file:
 * undefined.
 */
export function loadEnvFile(configDir: string, env: NodeJS.ProcessEnv = process.env): EnvFileLoad | undefined {
  const file = join(configDir, ENV_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw new DispenserError('ENV_FILE_UNREADABLE', `cannot read ${file}: ${errorMessage(err)}`, {
      hint: 'make it readable by the user Dispenser runs as, or remove it',
      cause: err,
    });
  }
  const result: EnvFileLoad = { file, set: [], kept: [] };
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] !== undefined) {
      result.kept.push(name);
      continue;
    }
    env[name] = value;
    result.set.push(name);
  }
  return result;
}
