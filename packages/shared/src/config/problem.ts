import type { ErrorCode } from '../errors/catalogue.js';

/** One problem found in the configuration; every field a person needs to fix it. */
export interface ConfigProblem {
  /** stable code, e.g. CONFIG_UNKNOWN_KEY, CONFIG_TOML_SYNTAX, CONFIG_UNDEFINED_VARIABLE */
  code: ErrorCode;
  /** absolute path of the file the problem is in */
  file: string;
  /** 1-based; absent when the problem has no single place (e.g. a missing file) */
  line?: number;
  column?: number;
  /** 1-based, exclusive: where the marker under the offending text ends (same line) */
  endColumn?: number;
  /** dotted key path inside the file, e.g. "service.memory" or "port[1].host" */
  path?: string;
  /** what is wrong and what was expected; never contains a secret value */
  message: string;
  /** absent: an error, the config is refused. A warning or a note comes with a valid config. */
  severity?: 'warning' | 'note';
}

/**
 * One line per problem, for logs and the reload answer: `file:line:column: path: message [CODE]`.
 * People reading a terminal get the framed form from format.ts instead.
 */
export function problemLine(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message} [${p.code}]`;
}
