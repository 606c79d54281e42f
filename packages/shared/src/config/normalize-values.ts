import { isAbsolute, resolve } from 'node:path';
import type { DependsOnCondition } from './types.js';

/** Pure conversions shared by validation and normalization. */

/** "/api/" → "/api"; "/" stays "/". */
export function normalizeProxyPath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export function normalizeCondition(c: string): DependsOnCondition {
  return c.replace(/^service-/, '') as DependsOnCondition;
}

/**
 * A volume source is a bind mount when it is written as a path (absolute, ./, ../, or with a
 * slash) or names something that exists in the service dir; otherwise it is a named volume.
 */
export function classifyVolumeSource(source: string, serviceDir: string, exists: (path: string) => boolean): { kind: 'bind' | 'volume'; source: string } {
  if (isAbsolute(source)) return { kind: 'bind', source: resolve(source) };
  const local = resolve(serviceDir, source);
  if (source.startsWith('./') || source.startsWith('../') || source === '.' || source === '..' || source.includes('/') || exists(local)) return { kind: 'bind', source: local };
  return { kind: 'volume', source };
}
