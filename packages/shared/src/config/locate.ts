/**
 * Finds where a key path (e.g. ["port", 1, "host"]) is written in TOML text, so schema and
 * cross-file problems can point at a line and column. smol-toml keeps no positions, and the
 * subset of TOML that config files use (headers, dotted keys, one-line inline tables and arrays)
 * is easy to scan.
 */
export type KeyPath = readonly (string | number)[];

export interface Span {
  line: number;
  /** 1-based */
  column: number;
  /** 1-based, exclusive */
  endColumn: number;
}

export interface Located {
  key: Span;
  /** the value written after `=`, when the path is a key line */
  value?: Span;
}

const BARE = /^[A-Za-z0-9_-]+/;

export class KeyIndex {
  private readonly spans = new Map<string, Located>();

  constructor(text: string) {
    this.scan(text.split('\n'));
  }

  /** The span of the path, or of its closest written ancestor; `exact` tells which. */
  find(path: KeyPath): { at: Located; exact: boolean } | undefined {
    for (let n = path.length; n >= 0; n--) {
      const at = this.spans.get(keyOf(path.slice(0, n)));
      if (at) return { at, exact: n === path.length };
    }
    return undefined;
  }

  private record(path: KeyPath, at: Located): void {
    const k = keyOf(path);
    if (!this.spans.has(k)) this.spans.set(k, at);
  }

  private scan(lines: string[]): void {
    let table: (string | number)[] = [];
    const arrays = new Map<string, number>();
    let multiline: string | undefined;
    let bracketDepth = 0;
    lines.forEach((text, i) => {
      const line = i + 1;
      if (multiline) {
        if (text.includes(multiline)) multiline = undefined;
        return;
      }
      if (bracketDepth > 0) {
        bracketDepth += depthChange(text);
        return;
      }
      const header = /^(\s*)(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(text);
      if (header) {
        const isArray = header[2] === '[[';
        const names = splitDotted(header[3]!);
        if (!names) return;
        const resolved: (string | number)[] = [];
        for (let n = 0; n < names.length; n++) {
          resolved.push(names[n]!);
          const count = arrays.get(keyOf(resolved));
          const last = n === names.length - 1;
          if (isArray && last) {
            const next = (count ?? 0) + 1;
            arrays.set(keyOf(resolved), next);
            const col = header[1]!.length + 1;
            const span = { line, column: col, endColumn: text.trimEnd().length + 1 };
            this.record(resolved, { key: span });
            resolved.push(next - 1);
          } else if (count !== undefined) {
            resolved.push(count - 1);
          }
        }
        const col = header[1]!.length + 1;
        this.record(resolved, { key: { line, column: col, endColumn: text.replace(/\s*#.*$/, '').trimEnd().length + 1 } });
        table = resolved;
        return;
      }
      const kv = /^(\s*)((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=\s*/.exec(text);
      if (!kv) return;
      const keys = splitDotted(kv[2]!);
      if (!keys) return;
      const keyCol = kv[1]!.length + 1;
      const valueStart = kv[0].length;
      const valueText = stripComment(text.slice(valueStart));
      const path = [...table, ...keys];
      const keySpan = { line, column: keyCol, endColumn: keyCol + kv[2]!.length };
      this.record(path, { key: keySpan, value: { line, column: valueStart + 1, endColumn: valueStart + 1 + valueText.length } });
      for (let n = table.length + 1; n < path.length; n++) this.record(path.slice(0, n), { key: keySpan });
      for (const quote of ['"""', "'''"]) {
        const count = valueText.split(quote).length - 1;
        if (count % 2 === 1) multiline = quote;
      }
      if (!multiline) {
        const depth = depthChange(valueText);
        if (depth > 0) bracketDepth = depth;
        else if (valueText.startsWith('{') || valueText.startsWith('[')) this.scanInline(valueText, valueStart, line, path);
      }
    });
  }

  /** Keys and elements of a one-line inline table or array. */
  private scanInline(text: string, offset: number, line: number, base: (string | number)[]): void {
    type Frame = { path: (string | number)[]; kind: 'table' | 'array'; index: number; start: number; lastKey?: string };
    const stack: Frame[] = [];
    let expectKey = false;
    let elementStart = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const top = stack[stack.length - 1];
      if (c === '"' || c === "'") {
        const end = text.indexOf(c, i + 1);
        if (top?.kind === 'array' && elementStart < 0) elementStart = i;
        i = end < 0 ? text.length : end;
        continue;
      }
      if (c === '{' || c === '[') {
        const path = top === undefined ? base : top.kind === 'array' ? [...top.path, top.index] : [...top.path, top.lastKey ?? ''];
        if (top?.kind === 'array') this.record(path, { key: { line, column: offset + i + 1, endColumn: offset + i + 2 } });
        stack.push({ path, kind: c === '{' ? 'table' : 'array', index: 0, start: i });
        expectKey = c === '{';
        elementStart = -1;
        continue;
      }
      if (c === '}' || c === ']') {
        stack.pop();
        expectKey = false;
        continue;
      }
      if (c === ',') {
        if (top?.kind === 'array') top.index++;
        expectKey = top?.kind === 'table';
        elementStart = -1;
        continue;
      }
      if (/\s/.test(c)) continue;
      if (expectKey && top?.kind === 'table') {
        const m = BARE.exec(text.slice(i));
        if (m) {
          const col = offset + i + 1;
          const after = text.slice(i + m[0].length);
          const eq = /^\s*=\s*/.exec(after);
          const valueCol = eq ? col + m[0].length + eq[0].length : col;
          this.record([...top.path, m[0]], { key: { line, column: col, endColumn: col + m[0].length }, value: { line, column: valueCol, endColumn: valueCol + valueLength(text.slice(valueCol - offset - 1)) } });
          top.lastKey = m[0];
          i += m[0].length - 1;
        }
        expectKey = false;
        continue;
      }
      if (top?.kind === 'array' && elementStart < 0) {
        elementStart = i;
        const col = offset + i + 1;
        this.record([...top.path, top.index], { key: { line, column: col, endColumn: col + valueLength(text.slice(i)) } });
      }
    }
  }
}

function valueLength(text: string): number {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = text.indexOf(text[0]!, 1);
    return end < 0 ? text.length : end + 1;
  }
  const m = /^[^,}\]]*/.exec(text);
  return Math.max(1, m ? m[0].trimEnd().length : 1);
}

function keyOf(path: KeyPath): string {
  return JSON.stringify(path);
}

function splitDotted(text: string): string[] | undefined {
  const parts: string[] = [];
  const re = /\s*(?:([A-Za-z0-9_-]+)|"([^"]*)"|'([^']*)')\s*(\.|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    parts.push(m[1] ?? m[2] ?? m[3] ?? '');
    at = re.lastIndex;
    if (m[4] === '') break;
  }
  return parts;
}

/**
 * Walks a TOML line outside its string literals: calls `onCode` for every character that is code
 * and returns where a `#` comment starts (the text's length when there is none).
 */
function scanCode(text: string, onCode?: (c: string) => void): number {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return i;
    else onCode?.(c);
  }
  return text.length;
}

function stripComment(text: string): string {
  return text.slice(0, scanCode(text)).trimEnd();
}

/** Net [ and { nesting opened by a line (outside strings), for multi-line arrays. */
function depthChange(text: string): number {
  let depth = 0;
  scanCode(text, (c) => {
    if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  });
  return depth;
}
