import type { ConfigProblem } from '@dispenser/shared/config/problem';

/** One line per problem: file:line:column: path: message [CODE] */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message} [${p.code}]`;
}
