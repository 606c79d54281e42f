import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { codeFrameColumns } from '@babel/code-frame';
import type { ConfigProblem } from './problem.js';
import type { VarOverride } from './vars.js';

export interface FormatOptions {
  /** show paths relative to this directory when they are inside it (default: process.cwd()) */
  relativeTo?: string;
  /** source text of a file; frames are drawn from what the user wrote, never from rendered text */
  readSource?: (file: string) => string | undefined;
  /** scrubs secret values from the frames (LoadResult.redact) */
  redact?: (text: string) => string;
}

/**
 * Renders one problem for people:
 *
 *   error: web/service.toml:3:10 [CONFIG_INVALID_VALUE]
 *   invalid "service.memory": expected a memory size like "512m"…; got "12x"
 *     2 | name = "web"
 *   > 3 | memory = "12x"
 *       |          ^^^^^
 */
export function formatProblem(problem: ConfigProblem, options: FormatOptions = {}): string {
  const where = displayPath(problem.file, options.relativeTo ?? process.cwd()) + (problem.line ? `:${problem.line}:${problem.column ?? 1}` : '');
  const lines = [`${problem.severity ?? 'error'}: ${where} [${problem.code}]`, problem.message];
  if (problem.line) {
    const source = (options.readSource ?? readSourceFile)(problem.file);
    if (source !== undefined) {
      const column = problem.column ?? 1;
      const end = problem.endColumn && problem.endColumn > column ? { end: { line: problem.line, column: problem.endColumn } } : {};
      const frame = codeFrameColumns(source, { start: { line: problem.line, column }, ...end }, { highlightCode: false, linesAbove: 2, linesBelow: 1 });
      if (frame.trim() !== '') lines.push(options.redact ? options.redact(frame) : frame);
    }
  }
  return lines.join('\n');
}

/** Every problem, a blank line between them, and a count at the end. */
export function formatProblems(problems: readonly ConfigProblem[], options: FormatOptions = {}): string {
  const cache = new Map<string, string | undefined>();
  const readSource = options.readSource ?? readSourceFile;
  const cached = { ...options, readSource: (f: string) => (cache.has(f) ? cache.get(f) : (cache.set(f, readSource(f)), cache.get(f))) };
  const body = problems.map((p) => formatProblem(p, cached)).join('\n\n');
  const n = problems.length;
  return `${body}\n\n${n} problem${n === 1 ? '' : 's'} found in the configuration.`;
}

function readSourceFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `--test`'s line about a variable a later vars file defines again. */
export function formatOverride(o: VarOverride, options: Pick<FormatOptions, 'relativeTo'> = {}): string {
  const base = options.relativeTo ?? process.cwd();
  return `note: variable "${o.name}" of ${displayPath(o.replaces.file, base)}:${o.replaces.line} is overridden by ${displayPath(o.at.file, base)}:${o.at.line}`;
}

function displayPath(file: string, base: string): string {
  const rel = relative(base, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
