import {
  JFloat, JFunc, JMap, Undefined, TemplateFailure, bounded, compare, equal, getItem, isUndefined, iterate, makeMap, num, toJson, toText, truthy, typeName,
  type JValue, type Kwargs,
} from './template-values.js';

/**
 * MiniJinja's built-in filters and tests, by the names and arguments its documentation gives.
 * Kept in Maps (not objects) so a name like "constructor" finds nothing.
 */
export interface Caller {
  filter(name: string, value: JValue, args: JValue[], kwargs: Kwargs): JValue;
  test(name: string, value: JValue, args: JValue[]): boolean;
}

type Filter = (c: Caller, v: JValue, args: JValue[], kw: Kwargs) => JValue;
type Test = (v: JValue, args: JValue[]) => boolean;

const arg = (args: JValue[], kw: Kwargs, i: number, name: string): JValue | undefined => (kw.has(name) ? kw.get(name) : args[i]);

/** String filters take numbers and booleans as their text (`${ version | replace(".", "-") }` with version = 1.2). */
function str(v: JValue, filter: string): string {
  if (Array.isArray(v) || v instanceof JMap || v instanceof JFunc) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter ${filter} expects a string, got ${typeName(v)}`);
  return toText(v);
}

function int(v: JValue | undefined, what: string): number {
  const n = v === undefined ? undefined : num(v);
  if (n === undefined || !Number.isInteger(n)) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `${what} expects an integer, got ${v === undefined ? 'nothing' : typeName(v)}`);
  return n;
}

function list(v: JValue, filter: string): JValue[] {
  return iterate(v, `filter ${filter}`);
}

/** The attribute="a.b" argument of sort, map, selectattr…: dotted path, numbers as indexes. */
function attribute(v: JValue, path: string): JValue {
  return path.split('.').reduce<JValue>((x, part) => getItem(x, /^\d+$/.test(part) ? Number(part) : part, part), v);
}

function sortKey(v: JValue, caseSensitive: boolean): JValue {
  return !caseSensitive && typeof v === 'string' ? v.toLowerCase() : v;
}

/** Joins once the result is known to fit the output bound. */
function joinBounded(parts: string[], sep: string): string {
  bounded(parts.reduce((n, p) => n + p.length, 0) + sep.length * Math.max(0, parts.length - 1));
  return parts.join(sep);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"'/]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '/': '&#x2f;' })[c]!);
}

function round(v: number, precision: number): JFloat {
  const m = 10 ** precision;
  // half away from zero, as Rust's f64::round
  return new JFloat((Math.sign(v) * Math.round(Math.abs(v) * m)) / m);
}

function toInt(v: JValue): number {
  if (typeof v === 'number') return v;
  if (v instanceof JFloat) return Math.trunc(v.v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+$/.test(t)) return Number(t);
    const f = Number(t);
    if (t !== '' && Number.isFinite(f)) return Math.trunc(f);
  }
  throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot convert this ${typeName(v)} to an integer`);
}

function toFloat(v: JValue): JFloat {
  const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v.trim())) : num(v);
  if (n === undefined || Number.isNaN(n)) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot convert this ${typeName(v)} to a float`);
  return new JFloat(n);
}

function extreme(c: Caller, v: JValue, args: JValue[], kw: Kwargs, sign: number): JValue {
  const attr = arg(args, kw, 1, 'attribute');
  const caseSensitive = truthy(arg(args, kw, 0, 'case_sensitive') ?? false);
  const items = list(v, sign < 0 ? 'min' : 'max');
  if (items.length === 0) return new Undefined('the min/max of an empty list');
  const key = (x: JValue) => sortKey(typeof attr === 'string' ? attribute(x, attr) : x, caseSensitive);
  return items.reduce((best, x) => (sign * compare(key(x), key(best)) > 0 ? x : best));
}

function selectFilter(keep: boolean, byAttr: boolean): Filter {
  return (c, v, args) => {
    const [first, ...rest] = args;
    const attr = byAttr ? first : undefined;
    const testArgs = byAttr ? rest : args;
    const [test, ...more] = testArgs;
    return list(v, 'select').filter((x) => {
      const value = typeof attr === 'string' ? attribute(x, attr) : x;
      const pass = test === undefined ? truthy(value) : c.test(String(test), value, more);
      return pass === keep;
    });
  };
}

export const FILTERS: ReadonlyMap<string, Filter> = new Map<string, Filter>([
  ['default', (c, v, args, kw) => {
    const fallback = arg(args, kw, 0, 'default_value') ?? '';
    return isUndefined(v) || (truthy(arg(args, kw, 1, 'boolean') ?? false) && !truthy(v)) ? fallback : v;
  }],
  ['upper', (c, v) => str(v, 'upper').toUpperCase()],
  ['lower', (c, v) => str(v, 'lower').toLowerCase()],
  ['title', (c, v) => str(v, 'title').toLowerCase().replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase())],
  ['capitalize', (c, v) => { const s = str(v, 'capitalize'); return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(); }],
  ['replace', (c, v, args) => joinBounded(str(v, 'replace').split(str(args[0] ?? '', 'replace')), str(args[1] ?? '', 'replace'))],
  ['trim', (c, v, args) => {
    const s = str(v, 'trim');
    if (args[0] === undefined || args[0] === null) return s.trim();
    const chars = new Set([...str(args[0], 'trim')]);
    const cs = [...s];
    let a = 0;
    let b = cs.length;
    while (a < b && chars.has(cs[a]!)) a++;
    while (b > a && chars.has(cs[b - 1]!)) b--;
    return cs.slice(a, b).join('');
  }],
  ['join', (c, v, args, kw) => {
    const sep = arg(args, kw, 0, 'd') ?? '';
    const attr = arg(args, kw, 1, 'attribute');
    return joinBounded(list(v, 'join').map((x) => toText(typeof attr === 'string' ? attribute(x, attr) : x)), toText(sep));
  }],
  ['length', (c, v) => (typeof v === 'string' ? [...v].length : v instanceof JMap ? v.size : list(v, 'length').length)],
  ['tojson', (c, v, args, kw) => {
    const indent = arg(args, kw, 0, 'indent');
    return toJson(v, indent === undefined || indent === null ? undefined : bounded(int(indent, 'tojson indent')));
  }],
  ['items', (c, v) => {
    if (!(v instanceof JMap)) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter items expects a map, got ${typeName(v)}`);
    return [...v].map(([k, x]) => [k, x]);
  }],
  ['dictsort', (c, v, args, kw) => {
    if (!(v instanceof JMap)) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter dictsort expects a map, got ${typeName(v)}`);
    const caseSensitive = truthy(arg(args, kw, 0, 'case_sensitive') ?? false);
    const byValue = arg(args, kw, 1, 'by') === 'value';
    const reverse = truthy(arg(args, kw, 2, 'reverse') ?? false);
    const pairs = [...v].map(([k, x]): JValue[] => [k, x]);
    pairs.sort((a, b) => compare(sortKey(a[byValue ? 1 : 0]!, caseSensitive), sortKey(b[byValue ? 1 : 0]!, caseSensitive)) * (reverse ? -1 : 1));
    return pairs;
  }],
  ['first', (c, v) => (typeof v === 'string' ? ([...v][0] ?? new Undefined('the first item of an empty string')) : (list(v, 'first')[0] ?? new Undefined('the first item of an empty list')))],
  ['last', (c, v) => { const xs = typeof v === 'string' ? [...v] : list(v, 'last'); return xs[xs.length - 1] ?? new Undefined('the last item of an empty list'); }],
  ['int', (c, v) => toInt(v)],
  ['float', (c, v) => toFloat(v)],
  ['string', (c, v) => toText(v)],
  ['bool', (c, v) => truthy(v)],
  ['list', (c, v) => [...list(v, 'list')]],
  ['sort', (c, v, args, kw) => {
    const reverse = truthy(arg(args, kw, 0, 'reverse') ?? false);
    const caseSensitive = truthy(arg(args, kw, 1, 'case_sensitive') ?? false);
    const attr = arg(args, kw, 2, 'attribute');
    const key = (x: JValue) => sortKey(typeof attr === 'string' ? attribute(x, attr) : x, caseSensitive);
    return [...list(v, 'sort')].sort((a, b) => compare(key(a), key(b)) * (reverse ? -1 : 1));
  }],
  ['unique', (c, v, args, kw) => {
    const caseSensitive = truthy(arg(args, kw, 0, 'case_sensitive') ?? false);
    const out: JValue[] = [];
    const seen: JValue[] = [];
    for (const x of list(v, 'unique')) {
      const k = sortKey(x, caseSensitive);
      if (!seen.some((s) => equal(s, k))) {
        seen.push(k);
        out.push(x);
      }
    }
    return out;
  }],
  ['reverse', (c, v) => (typeof v === 'string' ? [...v].reverse().join('') : [...list(v, 'reverse')].reverse())],
  ['round', (c, v, args, kw) => {
    if (typeof v === 'number') return v;
    if (!(v instanceof JFloat)) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter round expects a number, got ${typeName(v)}`);
    return round(v.v, int(arg(args, kw, 0, 'precision') ?? 0, 'round precision'));
  }],
  ['abs', (c, v) => {
    if (typeof v === 'number') return Math.abs(v);
    if (v instanceof JFloat) return new JFloat(Math.abs(v.v));
    throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter abs expects a number, got ${typeName(v)}`);
  }],
  ['min', (c, v, args, kw) => extreme(c, v, args, kw, -1)],
  ['max', (c, v, args, kw) => extreme(c, v, args, kw, 1)],
  ['sum', (c, v) => list(v, 'sum').reduce<JValue>((a, x) => {
    const n = num(x);
    if (n === undefined) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `filter sum expects numbers, got ${typeName(x)}`);
    return a instanceof JFloat || x instanceof JFloat ? new JFloat(num(a)! + n) : (a as number) + n;
  }, 0)],
  ['indent', (c, v, args, kw) => {
    const width = arg(args, kw, 0, 'width');
    const pad = typeof width === 'string' ? width : ' '.repeat(bounded(Math.max(0, int(width ?? 4, 'indent width'))));
    const first = truthy(arg(args, kw, 1, 'first') ?? false);
    const blank = truthy(arg(args, kw, 2, 'blank') ?? false);
    const lines = str(v, 'indent').split('\n');
    const indented = lines.filter((l, i) => (i > 0 || first) && (blank || l.trim() !== '')).length;
    bounded(indented * pad.length);
    return joinBounded(lines.map((l, i) => ((i > 0 || first) && (blank || l.trim() !== '') ? pad + l : l)), '\n');
  }],
  ['safe', (c, v) => toText(v)],
  ['escape', (c, v) => escapeHtml(toText(v))],
  ['split', (c, v, args, kw) => {
    const s = str(v, 'split');
    const sep = arg(args, kw, 0, 'split');
    const max = arg(args, kw, 1, 'maxsplits');
    const parts = sep === undefined || sep === null ? s.split(/\s+/).filter((p) => p !== '') : s.split(str(sep, 'split'));
    if (max === undefined || max === null) return parts;
    const m = int(max, 'split maxsplits');
    return parts.length > m + 1 ? [...parts.slice(0, m), parts.slice(m).join(typeof sep === 'string' ? sep : ' ')] : parts;
  }],
  ['lines', (c, v) => str(v, 'lines').split(/\r?\n/)],
  ['map', (c, v, args, kw) => {
    const attr = kw.get('attribute');
    if (typeof attr === 'string') {
      const fallback = kw.get('default');
      return list(v, 'map').map((x) => { const y = attribute(x, attr); return isUndefined(y) && fallback !== undefined ? fallback : y; });
    }
    const [name, ...rest] = args;
    if (typeof name !== 'string') throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'filter map expects a filter name or attribute="…"');
    return list(v, 'map').map((x) => c.filter(name, x, rest, new Map()));
  }],
  ['select', selectFilter(true, false)],
  ['reject', selectFilter(false, false)],
  ['selectattr', selectFilter(true, true)],
  ['rejectattr', selectFilter(false, true)],
  ['attr', (c, v, args) => getItem(v, args[0] ?? null, String(args[0]))],
  ['batch', (c, v, args) => {
    const size = int(args[0], 'batch size');
    if (size < 1) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'filter batch expects a size of at least 1');
    const xs = list(v, 'batch');
    const out: JValue[][] = [];
    for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
    if (args[1] !== undefined && out.length > 0) while (out[out.length - 1]!.length < size) out[out.length - 1]!.push(args[1]);
    return out;
  }],
  ['wordcount', (c, v) => (str(v, 'wordcount').match(/[\p{L}\p{N}_]+/gu) ?? []).length],
]);
// dump: the name this port documented before it followed MiniJinja, kept so those configs still load
for (const [alias, name] of [['d', 'default'], ['count', 'length'], ['e', 'escape'], ['dump', 'tojson']] as const) (FILTERS as Map<string, Filter>).set(alias, FILTERS.get(name)!);

const isNum = (v: JValue) => typeof v === 'number' || v instanceof JFloat;
const cmp = (op: (c: number) => boolean): Test => (v, a) => op(compare(v, a[0] ?? null));

export const TESTS: ReadonlyMap<string, Test> = new Map<string, Test>([
  ['defined', (v) => !isUndefined(v)],
  ['undefined', (v) => isUndefined(v)],
  ['none', (v) => v === null],
  ['true', (v) => v === true],
  ['false', (v) => v === false],
  ['boolean', (v) => typeof v === 'boolean'],
  ['number', isNum],
  ['integer', (v) => typeof v === 'number'],
  ['float', (v) => v instanceof JFloat],
  ['string', (v) => typeof v === 'string'],
  ['sequence', (v) => Array.isArray(v)],
  ['mapping', (v) => v instanceof JMap],
  ['iterable', (v) => Array.isArray(v) || v instanceof JMap || typeof v === 'string'],
  ['callable', (v) => v instanceof JFunc],
  ['odd', (v) => Math.abs(int(v, 'test odd') % 2) === 1],
  ['even', (v) => int(v, 'test even') % 2 === 0],
  ['divisibleby', (v, a) => int(v, 'test divisibleby') % int(a[0], 'test divisibleby') === 0],
  ['eq', (v, a) => equal(v, a[0] ?? null)],
  ['ne', (v, a) => !equal(v, a[0] ?? null)],
  ['lt', cmp((c) => c < 0)],
  ['le', cmp((c) => c <= 0)],
  ['gt', cmp((c) => c > 0)],
  ['ge', cmp((c) => c >= 0)],
  ['in', (v, a) => contains(a[0] ?? null, v)],
  ['startingwith', (v, a) => str(v, 'startingwith').startsWith(str(a[0] ?? '', 'startingwith'))],
  ['endingwith', (v, a) => str(v, 'endingwith').endsWith(str(a[0] ?? '', 'endingwith'))],
  ['lower', (v) => typeof v === 'string' && v === v.toLowerCase()],
  ['upper', (v) => typeof v === 'string' && v === v.toUpperCase()],
  ['sameas', (v, a) => v === a[0]],
]);
for (const [alias, name] of [['equalto', 'eq'], ['==', 'eq'], ['!=', 'ne'], ['lessthan', 'lt'], ['<', 'lt'], ['<=', 'le'], ['greaterthan', 'gt'], ['>', 'gt'], ['>=', 'ge']] as const) (TESTS as Map<string, Test>).set(alias, TESTS.get(name)!);

/** `needle in haystack`. */
export function contains(haystack: JValue, needle: JValue): boolean {
  if (isUndefined(needle)) throw new TemplateFailure('CONFIG_UNDEFINED_VARIABLE', `${needle.what} is undefined (left of \`in\`)`);
  if (typeof haystack === 'string') return haystack.includes(toText(needle));
  if (haystack instanceof JMap) return typeof needle === 'string' && haystack.has(needle);
  return iterate(haystack, 'right of `in`').some((x) => equal(x, needle));
}

export const GLOBALS: ReadonlyMap<string, JFunc> = new Map([
  ['dict', new JFunc('dict', (args, kw) => makeMap([...(args[0] instanceof JMap ? args[0] : []), ...kw]))],
]);


