import { FILTERS, GLOBALS, TESTS, contains, type Caller } from './template-filters.js';
import {
  JFloat, JFunc, JMap, TEMPLATE_LIMITS, TemplateFailure, Undefined, bounded, compare, limit, equal, fromHost, getItem, isUndefined, iterate, makeMap, num, toText, truthy, typeName, undefinedError,
  type JValue, type Kwargs,
} from './template-values.js';

/**
 * Renders a parsed template (nunjucks' parser, our evaluation). Nothing of nunjucks' runtime runs:
 * it compiles templates to JavaScript and looks members up on host objects, which let
 * `${ x.constructor.constructor("…")() }` run code. Here every value is a template value
 * (template-values.ts) and every operation is one of ours, bounded by the limits below.
 */

export interface TemplateNode {
  typename: string;
  fields: string[];
  lineno: number;
  colno: number;
  value?: unknown;
  [field: string]: unknown;
}

const UNSUPPORTED: Record<string, string> = {
  Macro: '{% macro %}', Caller: '{% call %}', Import: '{% import %}', FromImport: '{% from … import %}', Include: '{% include %}', Extends: '{% extends %}',
  Block: '{% block %}', Super: 'super()', Switch: '{% switch %}', CallExtension: 'an extension tag', CallExtensionAsync: 'an extension tag',
  AsyncEach: '{% asyncEach %}', AsyncAll: '{% asyncAll %}', IfAsync: '{% ifAsync %}', FilterAsync: 'an async filter',
};

type Scope = Map<string, JValue>;

export function evaluate(root: TemplateNode, vars: Readonly<Record<string, unknown>>, source: string): string {
  return new Evaluator(vars, source).render(root);
}

class Evaluator implements Caller {
  private readonly globals: Scope;
  private readonly lines: string[];
  private work = 0;
  private iterations = 0;
  private depth = 0;
  private out: string[] = [];
  private outLength = 0;

  constructor(vars: Readonly<Record<string, unknown>>, source: string) {
    this.lines = source.split('\n');
    this.globals = new Map<string, JValue>([...GLOBALS, ['range', new JFunc('range', (args) => this.range(args))]]);
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(vars))) if ('value' in d) this.globals.set(k, fromHost(d.value));
  }

  render(root: TemplateNode): string {
    this.block(root, [new Map()]);
    return this.out.join('');
  }

  // ---- limits ----

  private sized(s: string): string {
    bounded(s.length);
    return s;
  }

  private write(s: string): void {
    this.outLength += s.length;
    if (this.outLength > TEMPLATE_LIMITS.maxOutput) throw limit(`more than ${TEMPLATE_LIMITS.maxOutput} characters of output`);
    this.out.push(s);
  }

  /** Filters and operators cost what they copy or scan, so a loop over a big string stays bounded. */
  private spend(units: number): void {
    this.work += units;
    if (this.work > TEMPLATE_LIMITS.maxWork) throw limit(`more than ${TEMPLATE_LIMITS.maxWork} units of work (expressions, and characters or items built or filtered)`);
  }

  private iterate(): void {
    if (++this.iterations > TEMPLATE_LIMITS.maxIterations) throw limit(`more than ${TEMPLATE_LIMITS.maxIterations} loop iterations`);
  }

  private range(args: JValue[]): JValue[] {
    const ns = args.map((a) => {
      const n = num(a);
      if (typeof a !== 'number' || n === undefined) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `range() expects integers, got ${typeName(a)}`);
      return n;
    });
    const [start, stop, step] = ns.length === 1 ? [0, ns[0]!, 1] : [ns[0] ?? 0, ns[1] ?? 0, ns[2] ?? 1];
    if (step === 0) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'range() step cannot be 0');
    const length = Math.max(0, Math.ceil((stop - start) / step));
    if (length > TEMPLATE_LIMITS.maxIterations) throw limit(`range() of more than ${TEMPLATE_LIMITS.maxIterations} items`);
    return Array.from({ length }, (_, i) => start + i * step);
  }

  /** Runs `f` for `node`, giving any error without a position the node's position. */
  private at<T>(node: TemplateNode, f: () => T): T {
    this.spend(1);
    if (++this.depth > TEMPLATE_LIMITS.maxDepth) throw limit(`nesting deeper than ${TEMPLATE_LIMITS.maxDepth}`);
    try {
      return f();
    } catch (err) {
      if (err instanceof TemplateFailure && err.line === undefined) {
        err.line = node.lineno + 1;
        err.column = node.colno + 1;
      }
      throw err;
    } finally {
      this.depth--;
    }
  }

  // ---- statements ----

  private block(node: TemplateNode | null | undefined, scopes: Scope[]): void {
    if (!node) return;
    for (const child of (node.children as TemplateNode[] | undefined) ?? []) this.statement(child, scopes);
  }

  private statement(node: TemplateNode, scopes: Scope[]): void {
    this.at(node, () => {
      switch (node.typename) {
        case 'Output':
          for (const c of node.children as TemplateNode[]) this.write(c.typename === 'TemplateData' ? String(c.value ?? '') : this.at(c, () => toText(this.expr(c, scopes))));
          return;
        case 'If':
          if (truthy(this.expr(node.cond as TemplateNode, scopes))) this.block(node.body as TemplateNode, scopes);
          else if (node.else_) {
            const e = node.else_ as TemplateNode;
            if (e.typename === 'If') this.statement(e, scopes);
            else this.block(e, scopes);
          }
          return;
        case 'For':
          return this.forLoop(node, scopes);
        case 'Set': {
          const value = node.value ? this.expr(node.value as TemplateNode, scopes) : this.capture(node.body as TemplateNode, scopes);
          for (const t of node.targets as TemplateNode[]) scopes[scopes.length - 1]!.set(String(t.value), value);
          return;
        }
        case 'NodeList':
          return this.block(node, scopes);
        default:
          throw unsupported(node);
      }
    });
  }

  private capture(node: TemplateNode, scopes: Scope[]): string {
    const saved = this.out;
    this.out = [];
    try {
      this.block(node.typename === 'Capture' ? (node.body as TemplateNode) : node, scopes);
      return this.out.join('');
    } finally {
      this.out = saved;
    }
  }

  private forLoop(node: TemplateNode, scopes: Scope[]): void {
    // nunjucks reads `for x in xs if cond` as an inline if without else; Jinja means a loop filter
    let arrNode = node.arr as TemplateNode;
    let filter: TemplateNode | undefined;
    if (arrNode.typename === 'InlineIf' && !arrNode.else_) {
      filter = arrNode.cond as TemplateNode;
      arrNode = arrNode.body as TemplateNode;
    }
    const target = node.name as TemplateNode;
    const names = target.typename === 'Symbol' ? undefined : (target.children as TemplateNode[]).map((c) => String(c.value));
    const bind = (scope: Scope, item: JValue) => {
      if (!names) return void scope.set(String(target.value), item);
      if (!Array.isArray(item) || item.length !== names.length) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot unpack a ${typeName(item)}${Array.isArray(item) ? ` of ${item.length}` : ''} into ${names.length} loop variables`);
      names.forEach((n, i) => scope.set(n, item[i]!));
    };
    let items = iterate(this.expr(arrNode, scopes), 'in a for loop');
    if (filter) {
      items = items.filter((item) => {
        this.iterate();
        const scope: Scope = new Map();
        bind(scope, item);
        return truthy(this.expr(filter, [...scopes, scope]));
      });
    }
    if (items.length === 0) return this.block(node.else_ as TemplateNode | null, scopes);
    items.forEach((item, i) => {
      this.iterate();
      const scope: Scope = new Map();
      const loop = makeMap([
        ['index', i + 1], ['index0', i], ['revindex', items.length - i], ['revindex0', items.length - i - 1],
        ['first', i === 0], ['last', i === items.length - 1], ['length', items.length], ['depth', 1], ['depth0', 0],
        ['previtem', i > 0 ? items[i - 1]! : new Undefined('loop.previtem')], ['nextitem', i + 1 < items.length ? items[i + 1]! : new Undefined('loop.nextitem')],
      ]);
      loop.set('cycle', new JFunc('loop.cycle', (args) => (args.length ? args[i % args.length]! : null)));
      scope.set('loop', loop);
      bind(scope, item);
      this.block(node.body as TemplateNode, [...scopes, scope]);
    });
  }

  // ---- expressions ----

  private lookup(name: string, scopes: Scope[]): JValue {
    for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.has(name)) return scopes[i]!.get(name)!;
    return this.globals.has(name) ? this.globals.get(name)! : new Undefined(`variable "${name}"`);
  }

  private expr(node: TemplateNode, scopes: Scope[]): JValue {
    return this.at(node, () => {
      const v = this.exprInner(node, scopes);
      this.spend(size(v));
      return v;
    });
  }

  private exprInner(node: TemplateNode, scopes: Scope[]): JValue {
    const e = (n: unknown) => this.expr(n as TemplateNode, scopes);
    switch (node.typename) {
      case 'Literal':
        return this.literal(node);
      case 'Symbol':
        return this.lookup(String(node.value), scopes);
      case 'LookupVal':
        return getItem(e(node.target), e(node.val), `"${describe(node)}"`);
      case 'Group': {
        const cs = node.children as TemplateNode[];
        return cs.length === 1 ? e(cs[0]) : cs.map(e);
      }
      case 'Array':
        return (node.children as TemplateNode[]).map(e);
      case 'Dict':
        return makeMap((node.children as TemplateNode[]).map((p) => {
          const k = e(p.key);
          return [typeof k === 'string' ? k : toText(k), e(p.value)];
        }));
      case 'InlineIf':
        return truthy(e(node.cond)) ? e(node.body) : node.else_ ? e(node.else_) : new Undefined('inline if', true);
      case 'And': {
        const l = e(node.left);
        return truthy(l) ? e(node.right) : l;
      }
      case 'Or': {
        const l = e(node.left);
        return truthy(l) ? l : e(node.right);
      }
      case 'Not':
        return !truthy(e(node.target));
      case 'In':
        return contains(e(node.right), e(node.left));
      case 'Is':
        return this.isTest(node, scopes);
      case 'Compare':
        return this.compareChain(node, scopes);
      case 'Concat':
        return this.sized(toText(e(node.left)) + toText(e(node.right)));
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'FloorDiv': case 'Mod': case 'Pow':
        return this.arith(node.typename, e(node.left), e(node.right));
      case 'Neg': case 'Pos': {
        const v = e(node.target);
        if (typeof v === 'number') return node.typename === 'Neg' ? -v : v;
        if (v instanceof JFloat) return new JFloat(node.typename === 'Neg' ? -v.v : v.v);
        throw operandError(node.typename === 'Neg' ? 'negate' : 'apply unary + to', v);
      }
      case 'Filter':
        return this.filterNode(node, scopes);
      case 'FunCall': {
        const callee = e(node.name);
        if (!(callee instanceof JFunc)) {
          if (isUndefined(callee)) throw undefinedError(callee, 'called');
          throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `${describe(node.name as TemplateNode)} is a ${typeName(callee)}, not a function; the functions are range(), dict() and loop.cycle()`);
        }
        const [args, kwargs] = this.args(node.args as TemplateNode, scopes);
        return callee.call(args, kwargs);
      }
      default:
        throw unsupported(node);
    }
  }

  /** nunjucks turns `2.0` into 2: the source text says whether it was a float. */
  private literal(node: TemplateNode): JValue {
    const v = node.value;
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return v ?? null;
    // nunjucks also reads r/…/ as a JavaScript RegExp: not a template value
    if (typeof v !== 'number') throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'regular expression literals (r/…/) are not supported in config templates');
    const text = /^[\d.eE+-]+/.exec(this.lines[node.lineno]?.slice(node.colno) ?? '')?.[0] ?? '';
    return /[.eE]/.test(text) || !Number.isInteger(v) ? new JFloat(v) : v;
  }

  private args(list: TemplateNode | undefined, scopes: Scope[], skip = 0): [JValue[], Kwargs] {
    const args: JValue[] = [];
    const kwargs = new Map<string, JValue>();
    for (const c of ((list?.children as TemplateNode[] | undefined) ?? []).slice(skip)) {
      if (c.typename === 'KeywordArgs') for (const p of c.children as TemplateNode[]) kwargs.set(String((p.key as TemplateNode).value), this.expr(p.value as TemplateNode, scopes));
      else args.push(c.typename === 'Capture' ? this.capture(c, scopes) : this.expr(c, scopes));
    }
    return [args, kwargs];
  }

  private filterNode(node: TemplateNode, scopes: Scope[]): JValue {
    const name = String((node.name as TemplateNode).value);
    const [[value, ...args], kwargs] = this.args(node.args as TemplateNode, scopes);
    return this.filter(name, value ?? null, args, kwargs);
  }

  filter(name: string, value: JValue, args: JValue[], kwargs: Kwargs): JValue {
    const f = FILTERS.get(name);
    if (!f) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `unknown filter "${name}"; see the filter list in docs/configuration/variables-and-secrets.md`);
    if (isUndefined(value) && name !== 'default' && name !== 'd') throw undefinedError(value, `passed to filter ${name}`);
    this.spend(args.reduce<number>((n, a) => n + size(a), size(value)));
    return f(this, value, args, kwargs);
  }

  test(name: string, value: JValue, args: JValue[]): boolean {
    const t = TESTS.get(name);
    if (!t) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `unknown test "${name}"; see the test list in docs/configuration/variables-and-secrets.md`);
    if (isUndefined(value) && name !== 'defined' && name !== 'undefined') throw undefinedError(value, `checked with \`is ${name}\``);
    return t(value, args);
  }

  private isTest(node: TemplateNode, scopes: Scope[]): boolean {
    const right = node.right as TemplateNode;
    const value = this.expr(node.left as TemplateNode, scopes);
    if (right.typename === 'FunCall') {
      const [args] = this.args(right.args as TemplateNode, scopes);
      return this.test(String((right.name as TemplateNode).value), value, args);
    }
    // `x is none`, `x is true`: nunjucks reads the test name as a literal
    return this.test(right.typename === 'Literal' && right.value === null ? 'none' : String(right.value), value, []);
  }

  private compareChain(node: TemplateNode, scopes: Scope[]): boolean {
    let left = this.expr(node.expr as TemplateNode, scopes);
    for (const op of node.ops as TemplateNode[]) {
      const right = this.expr(op.expr as TemplateNode, scopes);
      for (const v of [left, right]) if (isUndefined(v)) throw undefinedError(v, `compared with ${String(op.type)}`);
      const type = String(op.type);
      const ok = type === '==' || type === '===' ? equal(left, right)
        : type === '!=' || type === '!==' ? !equal(left, right)
          : ((c) => (type === '<' ? c < 0 : type === '<=' ? c <= 0 : type === '>' ? c > 0 : c >= 0))(compare(left, right));
      if (!ok) return false;
      left = right;
    }
    return true;
  }

  private arith(op: string, a: JValue, b: JValue): JValue {
    for (const v of [a, b]) if (isUndefined(v)) throw undefinedError(v, 'used in arithmetic');
    if (op === 'Add') {
      if (typeof a === 'string' && typeof b === 'string') return this.sized(a + b);
      if (Array.isArray(a) && Array.isArray(b)) {
        bounded(a.length + b.length);
        return [...a, ...b];
      }
    }
    if (op === 'Mul') {
      const [s, n] = typeof a === 'string' || Array.isArray(a) ? [a, b] : [b, a];
      if ((typeof s === 'string' || Array.isArray(s)) && typeof n === 'number') {
        const count = bounded(Math.max(0, n));
        bounded(s.length * count);
        return typeof s === 'string' ? s.repeat(count) : Array.from({ length: count }, () => s).flat();
      }
    }
    const x = typeof a === 'boolean' ? undefined : num(a);
    const y = typeof b === 'boolean' ? undefined : num(b);
    if (x === undefined || y === undefined) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot ${op.toLowerCase()} ${typeName(a)} and ${typeName(b)}`);
    const ints = typeof a === 'number' && typeof b === 'number';
    if ((op === 'Div' || op === 'FloorDiv' || op === 'Mod') && y === 0) throw new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', 'division by zero');
    const r = op === 'Add' ? x + y : op === 'Sub' ? x - y : op === 'Mul' ? x * y : op === 'Div' ? x / y
      : op === 'FloorDiv' ? Math.floor(x / y) : op === 'Mod' ? x - y * Math.floor(x / y) : x ** y;
    return ints && op !== 'Div' && !(op === 'Pow' && y < 0) ? r : new JFloat(r);
  }
}

/** Why a node cannot be rendered here, for tags nunjucks parses that config templates do not run. */
export function unsupportedMessage(typename: string): string | undefined {
  const what = Object.hasOwn(UNSUPPORTED, typename) ? UNSUPPORTED[typename] : undefined;
  return what && `${what} is not supported in config templates (they cannot load other files or define macros); expected \${ … }, {% if %}, {% for %}, {% set %}, {% filter %} or {% raw %}`;
}

function unsupported(node: TemplateNode): TemplateFailure {
  return new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', unsupportedMessage(node.typename) ?? `${node.typename} is not supported in config templates`);
}

function operandError(doing: string, v: JValue): TemplateFailure {
  return new TemplateFailure('CONFIG_TEMPLATE_SYNTAX', `cannot ${doing} ${typeName(v)}`);
}

/** What building or scanning a value costs: its length (lists: shallow). */
function size(v: JValue): number {
  return typeof v === 'string' || Array.isArray(v) ? v.length : v instanceof JMap ? v.size : 0;
}

/** `a.b[0]` as written, for messages. */
export function describe(node: TemplateNode): string {
  if (node.typename === 'Symbol') return String(node.value);
  if (node.typename === 'LookupVal') {
    const val = node.val as TemplateNode;
    const base = describe(node.target as TemplateNode);
    return val.typename === 'Literal' && typeof val.value === 'string' && /^[A-Za-z_]\w*$/.test(val.value) ? `${base}.${val.value}` : `${base}[${val.typename === 'Literal' ? JSON.stringify(val.value) : describe(val)}]`;
  }
  return 'expression';
}
