import type { ErrorCode } from '../errors/catalogue.js';
import type { ConfigProblem } from './problem.js';
import { KeyIndex, type KeyPath } from './locate.js';
import { buildPositionMap, type PositionMap } from './line-map.js';

/**
 * One rendered config file: knows where each key path is written in its source, so every
 * problem about it can carry a line and column of the text the user wrote.
 */
export class ConfigDocument {
  private index: KeyIndex | undefined;
  private map: PositionMap | undefined;

  constructor(
    readonly file: string,
    readonly source: string,
    readonly rendered: string,
  ) {}

  /** Position in the source of a position in the rendered text. */
  toSource(line: number, column: number, endColumn?: number): { line: number; column: number; endColumn?: number } {
    this.map ??= buildPositionMap(this.source, this.rendered);
    return this.map({ line, column, ...(endColumn === undefined ? {} : { endColumn }) });
  }

  /** A problem at a key path; `value` points at the written value rather than the key. */
  problem(code: ErrorCode, path: KeyPath, message: string, point: 'key' | 'value' = 'key'): ConfigProblem {
    this.index ??= new KeyIndex(this.rendered);
    const found = this.index.find(path);
    const span = found ? (point === 'value' && found.exact && found.at.value ? found.at.value : found.at.key) : { line: 1, column: 1, endColumn: 2 };
    const pos = this.toSource(span.line, span.column, span.endColumn);
    return { code, file: this.file, ...pos, ...(path.length ? { path: dotted(path) } : {}), message };
  }
}

export function dotted(path: KeyPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}
