import type { z } from 'zod';
import type { ConfigProblem } from './problem.js';
import type { ConfigDocument } from './document.js';
import { dotted } from './document.js';
import type { KeyPath } from './locate.js';
import { closest } from './suggest.js';

type Schema = z.ZodType;
type Issue = z.core.$ZodIssue;

/** Validates `data` against `schema`; every issue becomes a located, readable problem. */
export function validateWith<S extends Schema>(doc: ConfigDocument, schema: S, data: unknown, base: KeyPath = []): { ok: true; value: z.output<S> } | { ok: false; problems: ConfigProblem[] } {
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, value: r.data as z.output<S> };
  return { ok: false, problems: r.error.issues.flatMap((issue) => issueProblems(doc, schema, data, issue, base)) };
}

function issueProblems(doc: ConfigDocument, schema: Schema, data: unknown, issue: Issue, base: KeyPath): ConfigProblem[] {
  const inner = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const node = schemaAt(schema, inner);
  const value = valueAt(data, inner);
  const path = [...base, ...inner];
  if (issue.code === 'unrecognized_keys') {
    const valid = Object.keys(objectShape(node.schema) ?? {});
    return issue.keys.map((key) => {
      const guess = closest(key, valid);
      const hint = guess ? `did you mean "${guess}"?` : valid.length ? `expected one of: ${valid.join(', ')}` : 'no keys are allowed here';
      return doc.problem('CONFIG_UNKNOWN_KEY', [...path, key], `unknown key "${key}" ${where(path)}; ${hint}`);
    });
  }
  const name = path.length ? `"${dotted(path)}"` : 'the file';
  const expected = node.description ?? (issue.code === 'invalid_type' ? TYPE_NAMES[issue.expected] : undefined);
  if (value === undefined) {
    const key = path[path.length - 1];
    return [doc.problem('CONFIG_MISSING_KEY', path, `missing required key "${String(key)}" ${where(path.slice(0, -1))}; expected ${expected ?? 'a value'}`)];
  }
  let message: string;
  if (issue.code === 'custom') {
    message = `invalid ${name}: ${issue.message}; got ${show(value)}`;
  } else if (issue.code === 'invalid_value' && typeof value === 'string') {
    const guess = closest(value, issue.values.map(String));
    message = `invalid ${name}: expected ${expected ?? issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${show(value)}${guess ? ` (did you mean "${guess}"?)` : ''}`;
  } else {
    message = `invalid ${name}: expected ${expected ?? issue.message}; got ${show(value)}`;
  }
  return [doc.problem('CONFIG_INVALID_VALUE', path, message, 'value')];
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a table',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a table',
};

function where(path: KeyPath): string {
  if (path.length === 0) return 'at the top level';
  return `in [${dotted(path)}]`;
}

function show(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value !== null && typeof value === 'object') return 'a table';
  const text = JSON.stringify(value);
  const kind = typeof value === 'string' ? '' : Number.isInteger(value) ? 'integer ' : typeof value === 'number' ? 'number ' : `${typeof value} `;
  return kind + (text.length > 60 ? text.slice(0, 57) + '…' : text);
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: Schema[];
}

function def(s: Schema): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** Peels optional/default/pipe wrappers, remembering the first description met. */
function unwrap(s: Schema): { schema: Schema; description?: string } {
  let description: string | undefined;
  let cur = s;
  for (;;) {
    description ??= cur.description;
    const d = def(cur);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'prefault' || d.type === 'nullable') && d.innerType) cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else return { schema: cur, ...(description === undefined ? {} : { description }) };
  }
}

function objectShape(s: Schema): Record<string, Schema> | undefined {
  const d = def(s);
  return d.type === 'object' ? d.shape : undefined;
}

/** The schema that validates `path`, to learn its valid keys and what it expects. */
function schemaAt(root: Schema, path: KeyPath): { schema: Schema; description?: string } {
  let node = unwrap(root);
  for (const p of path) {
    const d = def(node.schema);
    let next: Schema | undefined;
    if (d.type === 'object') next = d.shape?.[String(p)];
    else if (d.type === 'array') next = d.element;
    else if (d.type === 'record') next = d.valueType;
    else if (d.type === 'union') next = d.options?.map((o) => unwrap(o).schema).find((o) => ['object', 'array', 'record'].includes(def(o).type));
    if (!next) return node;
    if (d.type === 'union') next = schemaAt(next, [p]).schema;
    node = unwrap(next);
  }
  return node;
}
