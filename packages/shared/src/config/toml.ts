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
      return { ok: false, line: err.line, column: err.column, message: `TOML syntax error: ${sentence}; ${expectation(sentence, text, err.line, err.column)}` };
    }
    return { ok: false, line: 1, column: 1, message: `TOML syntax error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** What the user probably meant, for smol-toml's terse messages. */
function expectation(sentence: string, text: string, line: number, column: number): string {
  const rest = text.split('\n')[line - 1]?.slice(column - 1) ?? '';
  if (/control characters are not allowed in strings|unfinished string/.test(sentence) && rest.trim() === '') return 'expected the string to be closed with a matching quote on the same line (use """ for multi-line strings)';
  if (/redefine/.test(sentence)) return 'expected each key and [table] to be defined once (use [[name]] for a list of tables)';
  if (/invalid value/.test(sentence)) return 'expected a value: a "quoted string", a number, true/false, an [array] or an { inline = "table" }';
  if (/end-of-line/.test(sentence)) return 'expected one key = value per line';
  if (/unfinished (array|table)|expected comma/.test(sentence)) return 'expected the array or inline table to be closed, with commas between its items';
  if (/key/.test(sentence)) return 'expected key = value, with a bare key (letters, digits, "_", "-") or a "quoted key"';
  return 'expected valid TOML (https://toml.io)';
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
