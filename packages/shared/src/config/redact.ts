import type { ConfigProblem } from './load.js';

export const REDACTED = '[secret]';

/** Removes every secret value from problem messages (a value can reach one through a template). */
export function redactProblems(problems: readonly ConfigProblem[], secretValues: readonly string[]): ConfigProblem[] {
  const scrub = redactor(secretValues);
  return problems.map((p) => ({ ...p, message: scrub(p.message) }));
}

/** A function that scrubs these secret values (longest first, so no part of one survives). */
export function redactor(secretValues: readonly string[]): (text: string) => string {
  const values = [...new Set(secretValues)].filter((v) => v !== '').sort((a, b) => b.length - a.length);
  return (text) => (values.length === 0 ? text : redact(text, values));
}

export function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) out = out.split(v).join(REDACTED);
  // the JSON form of a value (quotes and newlines escaped) may appear in "got …" texts
  for (const v of values) {
    const json = JSON.stringify(v).slice(1, -1);
    if (json !== v) out = out.split(json).join(REDACTED);
  }
  return out;
}
