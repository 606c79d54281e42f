/**
 * Maps a position in a rendered template back to the template source, so problems found after
 * rendering (TOML syntax, schema, cross-file rules) point at the line the user wrote. Frames are
 * always drawn from the source, which never holds a secret value.
 */
export interface Position {
  line: number;
  column: number;
  endColumn?: number;
}

const TEMPLATE_PART = /\$\{[^}]*\}|\{%[^%]*%\}|\{#[^#]*#\}/g;

interface SourceLine {
  /** literal pieces between template parts, with their source columns (0-based) */
  pieces: { text: string; at: number }[];
  /** source columns (0-based) where each template part starts */
  parts: number[];
  regex: RegExp | undefined;
}

export type PositionMap = (p: Position) => Position;

export function buildPositionMap(source: string, rendered: string): PositionMap {
  if (source === rendered) return (p) => p;
  const src = source.split('\n').map(describe);
  const out = rendered.split('\n');
  const lineMap: number[] = [];
  let j = -1;
  for (let i = 0; i < out.length; i++) {
    const text = out[i]!;
    const matches = (k: number) => src[k]?.regex?.test(text) ?? false;
    let found = -1;
    const order = [j + 1, j];
    for (let k = j + 2; k < src.length; k++) order.push(k);
    for (let k = j - 1; k >= 0; k--) order.push(k);
    for (const k of order) {
      if (k >= 0 && matches(k)) {
        found = k;
        break;
      }
    }
    if (found < 0) found = Math.max(0, Math.min(j + 1, src.length - 1));
    lineMap[i] = found;
    j = found;
  }
  return (p) => {
    const k = lineMap[p.line - 1] ?? Math.min(p.line - 1, src.length - 1);
    const s = src[k]!;
    const renderedLine = out[p.line - 1] ?? '';
    const column = mapColumn(s, renderedLine, p.column);
    const end = p.endColumn === undefined ? undefined : mapColumn(s, renderedLine, p.endColumn);
    return { line: k + 1, column, ...(end !== undefined && end > column ? { endColumn: end } : {}) };
  };
}

function describe(line: string): SourceLine {
  const pieces: { text: string; at: number }[] = [];
  const parts: number[] = [];
  let at = 0;
  for (const m of line.matchAll(TEMPLATE_PART)) {
    pieces.push({ text: line.slice(at, m.index), at });
    parts.push(m.index);
    at = m.index + m[0].length;
  }
  pieces.push({ text: line.slice(at), at });
  const onlyTags = parts.length > 0 && pieces.every((p) => p.text.trim() === '') && !line.includes('${');
  const regex = onlyTags ? undefined : new RegExp('^' + pieces.map((p) => `(${escape(p.text)})`).join('[^]*?') + '$', 'd');
  return { pieces, parts, regex };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function mapColumn(s: SourceLine, rendered: string, column: number): number {
  if (s.parts.length === 0 || !s.regex) return column;
  const m = s.regex.exec(rendered);
  const indices = m?.indices;
  if (!indices) return column;
  const at = column - 1;
  for (let n = 0; n < s.pieces.length; n++) {
    const [start, end] = indices[n + 1] ?? [0, 0];
    if (at >= start && at <= end) return s.pieces[n]!.at + (at - start) + 1;
    const nextStart = indices[n + 2]?.[0];
    // inside the text a template part produced: point at the part
    if (nextStart !== undefined && at > end && at < nextStart) return (s.parts[n] ?? 0) + 1;
  }
  return column;
}
