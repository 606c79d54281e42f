import type { DispenserConfig } from './types.js';

/** One problem found in the configuration; every field a person needs to fix it. */
export interface ConfigProblem {
  /** stable code, e.g. CONFIG_UNKNOWN_KEY, CONFIG_TOML_SYNTAX, CONFIG_UNDEFINED_VARIABLE */
  code: string;
  /** absolute path of the file the problem is in */
  file: string;
  /** 1-based; absent when the problem has no single place (e.g. a missing file) */
  line?: number;
  column?: number;
  /** dotted key path inside the file, e.g. "service.memory" or "port[1].host" */
  path?: string;
  /** what is wrong and what was expected; never contains a secret value */
  message: string;
}

export interface LoadOptions {
  /** environment for `source = "env"` secrets; defaults to process.env */
  env?: NodeJS.ProcessEnv;
  /** dev mode: keep only these services (by service dir path or name), drop depends_on to others */
  only?: readonly string[];
}

export type LoadResult = { ok: true; config: DispenserConfig } | { ok: false; problems: ConfigProblem[] };

/** Reads, renders, parses and validates a whole config directory. Never throws for bad input. */
export async function loadConfig(_configFile: string, _options: LoadOptions = {}): Promise<LoadResult> {
  throw new Error('loadConfig: not implemented yet (issue 2)');
}
