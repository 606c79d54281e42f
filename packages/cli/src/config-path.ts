import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_FILE_NAME as CONFIG_NAME, PACKAGED_CONFIG_FILE as PACKAGED_CONFIG } from '@dispenser/shared/defaults';

/**
 * The config when -c is not given: dispenser.toml in the working directory, as in the original.
 * When there is none there but a packaged install's exists, that one, so `dispenser -t` and
 * `dispenser -s reload` keep working from any directory on a server. Otherwise the working
 * directory's, so the error names the file the user most likely meant.
 */
export function defaultConfigFile(cwd: string = process.cwd(), exists: (path: string) => boolean = existsSync): string {
  const local = resolve(cwd, CONFIG_NAME);
  if (!exists(local) && exists(PACKAGED_CONFIG)) return PACKAGED_CONFIG;
  return local;
}

/** The help text's wording of that default. */
export const DEFAULT_CONFIG_HELP = `./${CONFIG_NAME}, or ${PACKAGED_CONFIG} when the working directory has none`;
