/**
 * The value model of config templates. Templates only ever see these values, never a JavaScript
 * object of the process: no prototype, constructor or function of the host is reachable, so a
 * template cannot run code or read anything but the variables it was given. Semantics follow
 * MiniJinja (what the original Dispenser rendered with): Python-like truthiness, `none`, floats
 * that print as `2.0`, maps with sorted keys.
 */

export class TemplateFailure extends Error {
  constructor(
    readonly code: 'CONFIG_UNDEFINED_VARIABLE' | 'CONFIG_TEMPLATE_SYNTAX' | 'CONFIG_TEMPLATE_LIMIT',
    message: string,
    /** 1-based; filled in by the evaluator from the node being evaluated when absent */
    public line?: number,
    public column?: number,
  ) {
    super(message);
  }
}

export const TEMPLATE_LIMITS = {
  /** bytes of output, and of any one string built while rendering */
  maxOutput: 4 * 1024 * 1024,
  /** loop iterations (all loops together) and range() lengths */
  maxIterations: 100_000,
  /** work: one per expression or statement, plus the length of every string or list built or filtered */
  maxWork: 10_000_000,
  /** nesting of expressions and blocks */
  maxDepth: 200,
};

export function limit(what: string): TemplateFailure {
  return new TemplateFailure('CONFIG_TEMPLATE_LIMIT', `this template produces ${what}; config templates are bounded so a mistake cannot hang or exhaust the daemon`);
}

/** Checked before a string or list of `length` is built. */
export function bounded(length: number): number {
  if (length > TEMPLATE_LIMITS.maxOutput) throw limit(`a string or list longer than ${TEMPLATE_LIMITS.maxOutput}`);
  return length;
}

/** A missing variable, key or attribute; `what` names it for the error. */
export class Undefined {
  /** silent: the value of `x if cond` without else, which renders as nothing (as in MiniJinja) */
  constructor(readonly what: string, readonly silent = false) {}
}

/** A float (ints are plain numbers): `4 / 2` is `2.0` and prints so. */
export class JFloat {
  constructor(readonly v: number) {}
}

export type Kwargs = ReadonlyMap<string, JValue>;

/** A function defined here (range, dict, loop.cycle); templates can call nothing else. */
export class JFunc {
  constructor(readonly name: string, readonly call: (args: JValue[], kwargs: Kwargs) => JValue) {}
}

export class JMap extends Map<string, JValue> {}

export type JValue = string | number | boolean | null | JFloat | Undefined | JFunc | JMap | JValue[];

export const isUndefined = (v: JValue): v is Undefined => v instanceof Undefined;

/** Maps keep their keys sorted, as MiniJinja's do. */
export function makeMap(entries: Iterable<[string, JValue]>): JMap {
  return new JMap([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Converts variables into template values. Only own data properties are copied: getters and
 * functions are not called, prototypes are not followed.
 */
export function fromHost(x: unknown, depth = 0): JValue {
  if (depth > 32) throw new TemplateFailure('CONFIG_TEMPLATE_LIMIT', 'a variable is nested too deeply');
  if (x === null || x === undefined) return null;
  if (typeof x === 'string' || typeof x === 'boolean') return x;
  if (typeof x === 'number') return Number.isInteger(x) ? x : new JFloat(x);
  if (Array.isArray(x)) return Array.from({ length: x.length }, (_, i) => fromHost(Object.getOwnPropertyDescriptor(x, i)?.value, depth + 1));
  if (typeof x === 'object' && !(x instanceof Date)) {
    const entries: [string, JValue][] = [];
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(x))) if (d.enumerable && 'value' in d) entries.push([k, fromHost(d.value, depth + 1)]);
    return makeMap(entries);
  }
  if (x instanceof Date) return x.toISOString();
  return null;
}

export function num(v: JValue): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof JFloat) return v.v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function typeName(v: JValue): string {
  if (v === null) return 'none';
  if (v instanceof Undefined) return 'undefined';
  if (v instanceof JFloat) return 'float';
  if (typeof v === 'number') return 'integer';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'sequence';
  if (v instanceof JMap) return 'map';
  return 'function';
}

export function undefinedError(u: Undefined, doing: string): TemplateFailure {
  return new TemplateFailure('CONFIG_UNDEFINED_VARIABLE', `${u.what} is undefined (${doing}); guard it with \`is defined\` or give it a fallback with \`| default("…")\``);
}

export function truthy(v: JValue): boolean {
  if (v instanceof Undefined) {
    if (v.silent) return false;
    throw undefinedError(v, 'used as a condition');
  }
  if (v === null) return false;
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'number') return v !== 0;
  if (v instanceof JFloat) return v.v !== 0;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof JMap) return v.size > 0;
  return true;
}

export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? 'inf' : '-inf';
  if (Number.isInteger(f) && Math.abs(f) < 1e16) return `${f}.0`;
  return String(f);
}

/** How a value prints with `${ }`. */
export function toText(v: JValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Undefined) {
    if (v.silent) return '';
    throw undefinedError(v, 'printed');
  }
  if (Array.isArray(v) || v instanceof JMap) return repr(v);
  return scalarText(v);
}

function scalarText(v: JValue): string {
  if (v === null) return 'none';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof JFloat) return formatFloat(v.v);
  if (v instanceof JFunc) return `<function ${v.name}>`;
  return typeof v === 'string' ? v : 'undefined';
}

/** How a value prints inside a list or map: strings quoted. */
export function repr(v: JValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(repr).join(', ')}]`;
  if (v instanceof JMap) return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}: ${repr(x)}`).join(', ')}}`;
  return scalarText(v);
}

export function equal(a: JValue, b: JValue): boolean {
  const na = typeof a === 'boolean' ? undefined : num(a);
  const nb = typeof b === 'boolean' ? undefined : num(b);
  if (na !== undefined && nb !== undefined) return na === nb;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (a instanceof JMap && b instanceof JMap) return a.size === b.size && [...a].every(([k, x]) => b.has(k) && equal(x, b.get(k)!));
  return a === b;
}

/** Ordering for `<`, sort, min and max: numbers with numbers, strings with strings, lists item by item. */
export function compare(a: JValue, b: JValue): number {
  const na = num(a);
  const nb = num(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compare(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (a === null && b === null) return 0;
  throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot compare ${typeName(a)} with ${typeName(b)}`);
}

/** JSON as MiniJinja's tojson writes it: map keys in their (sorted) order, `<`, `>`, `&` and `'` escaped. */
export function toJson(v: JValue, indent?: number): string {
  const pad = (level: number) => (indent === undefined ? '' : `\n${' '.repeat(indent * level)}`);
  const write = (x: JValue, level: number): string => {
    if (x instanceof Undefined) throw undefinedError(x, 'passed to tojson');
    if (x instanceof JFunc) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'a function cannot be converted to JSON');
    const items = Array.isArray(x) ? x.map((y) => write(y, level + 1)) : x instanceof JMap ? [...x].map(([k, y]) => `${JSON.stringify(k)}:${indent === undefined ? '' : ' '}${write(y, level + 1)}`) : undefined;
    if (items === undefined) return JSON.stringify(x instanceof JFloat ? x.v : x) ?? 'null';
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    return items.length === 0 ? open + close : `${open}${items.map((i) => pad(level + 1) + i).join(',')}${pad(level)}${close}`;
  };
  return write(v, 0).replace(/[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Items a `for` loop or a list filter walks: list items, map keys, string characters. */
export function iterate(v: JValue, doing: string): JValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof JMap) return [...v.keys()];
  if (typeof v === 'string') return [...v];
  if (v instanceof Undefined) throw undefinedError(v, doing);
  throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot iterate over ${typeName(v)} (${doing})`);
}

/** `a.b` and `a[b]`: keys of maps, indexes of lists and strings; nothing else has attributes. */
export function getItem(target: JValue, key: JValue, what: string): JValue {
  if (target instanceof Undefined) throw undefinedError(target, `looking up ${typeof key === 'string' ? `"${key}"` : repr(key)} on it`);
  if (target instanceof JMap && typeof key === 'string') return target.has(key) ? target.get(key)! : new Undefined(what);
  if ((Array.isArray(target) || typeof target === 'string') && typeof key === 'number' && Number.isInteger(key)) {
    const items = typeof target === 'string' ? [...target] : target;
    const i = key < 0 ? items.length + key : key;
    return i >= 0 && i < items.length ? items[i]! : new Undefined(what);
  }
  return new Undefined(what);
}
