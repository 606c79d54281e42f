import type { ConfigProblem } from '@dispenser/shared/config/problem';
import type { DispenserConfig } from '@dispenser/shared/config/types';

/** One line per problem: file:line:column: path: message [CODE] */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message} [${p.code}]`;
}

/**
 * Settings that the running processes cannot change in place. Ports and the bind address are not
 * among them: the proxy workers move their listeners when new proxy settings arrive.
 */
export function restartRequired(before: DispenserConfig, after: DispenserConfig): string[] {
  const out: string[] = [];
  const a = before.proxy;
  const b = after.proxy;
  if (a.enabled !== b.enabled) out.push('proxy.enabled');
  if (a.workers !== b.workers) out.push('proxy.workers');
  return out;
}

