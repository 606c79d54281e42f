import { parse, TomlError } from 'smol-toml';

export type TomlTable = Record<string, unknown>;
export type TomlResult = { ok: true; value: TomlTable } | { ok: false; line: number; column: number; message: string };

/** Parses TOML text; a syntax error comes back as data with its 1-based position. */
export function parseToml(text: string): TomlResult {
  try {
    return { ok: true, value: toPlain(parse(text)) as TomlTable };
  } catch (err) {
    if (err instanceof TomlError) {
      // smol-toml's message carries its own code block after a blank line; keep the sentence only.
      const sentence = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      return { ok: false, line: err.line, column: err.column, message: `TOML syntax error: ${sentence}` };
    }
    return { ok: false, line: 1, column: 1, message: `TOML syntax error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** smol-toml tables have a null prototype; give the rest of the pipeline ordinary objects. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date) return value;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
  return value;
}
