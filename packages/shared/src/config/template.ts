import nunjucks from 'nunjucks';
import { evaluate, unsupportedMessage, type TemplateNode } from './template-eval.js';
import { FILTERS } from './template-filters.js';
import { TemplateFailure } from './template-values.js';
import { closest } from './suggest.js';

/**
 * `${ name }` interpolation plus Jinja `{% if %}` / `{% for %}` / `{% set %}` blocks, with
 * MiniJinja's filters and tests. nunjucks only parses; template-eval.ts renders, in a sandbox.
 * An undefined variable that is always evaluated is reported by name and position before anything
 * is rendered; one in a branch that may not run (if/else bodies, the right of and/or, loop bodies)
 * is an error only when it runs, as in the original Dispenser (MiniJinja renders lazily).
 */
const TAGS = { variableStart: '${', variableEnd: '}' };
interface Token { type: string; value: string; lineno: number; colno: number }
interface Tokenizer { in_code: boolean; lineno: number; colno: number; nextToken(): Token | null; current(): string; forward(): void }
// the lexer and parser are public at runtime but missing from @types/nunjucks
const { lexer, parser } = nunjucks as unknown as {
  lexer: { lex(src: string, options: { tags: typeof TAGS }): Tokenizer };
  parser: { Parser: new (tokens: Tokenizer) => { parseAsRoot(): TemplateNode } };
};

/**
 * With `}` ending `${ }`, nunjucks' lexer also ends a tag at the `}` of a map literal
 * (`{% set m = {"a": 1} %}`). Braces opened inside a tag are balanced here before that check.
 */
function parse(source: string): TemplateNode {
  const tokens = lexer.lex(source, { tags: TAGS });
  const next = tokens.nextToken.bind(tokens);
  let open = 0;
  tokens.nextToken = () => {
    if (tokens.in_code && open > 0 && tokens.current() === '}') {
      const tok = { type: 'right-curly', value: '}', lineno: tokens.lineno, colno: tokens.colno };
      tokens.forward();
      open--;
      return tok;
    }
    const tok = next();
    if (tok?.type === 'left-curly') open++;
    if (tok?.type === 'block-end' || tok?.type === 'variable-end') open = 0;
    return tok;
  };
  return new parser.Parser(tokens).parseAsRoot();
}

export interface TemplateError {
  code: TemplateFailure['code'];
  line: number;
  column: number;
  endColumn?: number;
  message: string;
}

export type RenderResult = { ok: true; text: string } | { ok: false, errors: TemplateError[] };

export function renderTemplate(source: string, vars: Readonly<Record<string, unknown>>): RenderResult {
  // Fast path: most files use no template syntax at all.
  if (!source.includes('${') && !source.includes('{%') && !source.includes('{#')) return { ok: true, text: source };
  let ast: TemplateNode;
  let errors: TemplateError[];
  try {
    ast = parse(source);
    errors = staticProblems(ast, new Set(Object.keys(vars)));
  } catch (err) {
    return { ok: false, errors: [syntaxError(source, err)] };
  }
  if (errors.length > 0) return { ok: false, errors };
  try {
    return { ok: true, text: evaluate(ast, vars, source) };
  } catch (err) {
    if (err instanceof RangeError) return { ok: false, errors: [syntaxError(source, err)] };
    if (!(err instanceof TemplateFailure)) throw err;
    return { ok: false, errors: [{ code: err.code, line: err.line ?? 1, column: err.column ?? 1, message: err.message }] };
  }
}

function isNode(x: unknown): x is TemplateNode {
  return typeof x === 'object' && x !== null && typeof (x as { typename?: unknown }).typename === 'string';
}

function children(node: TemplateNode, skip: ReadonlySet<string> = new Set()): TemplateNode[] {
  const out: TemplateNode[] = [];
  for (const f of new Set([...node.fields, 'children'])) {
    if (skip.has(f)) continue;
    const c = node[f];
    if (Array.isArray(c)) for (const x of c) if (isNode(x)) out.push(x);
    if (isNode(c)) out.push(c);
  }
  return out;
}

/** Names a node binds (loop variables, `set` targets). */
function boundNames(target: unknown): string[] {
  if (isNode(target) && target.typename === 'Symbol') return [String(target.value)];
  if (isNode(target)) return children(target).flatMap(boundNames);
  if (Array.isArray(target)) return target.flatMap(boundNames);
  return [];
}

/**
 * Fields of a node that are evaluated only when a condition holds: an undefined name there is
 * left to the renderer, which fails only if the branch runs. (Loop bodies: the `For` case.)
 */
const CONDITIONAL_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  If: new Set(['body', 'else_']),
  InlineIf: new Set(['body', 'else_']),
  And: new Set(['right']),
  Or: new Set(['right']),
};

/**
 * Unknown filters and unsupported tags anywhere in the template, even in branches not taken;
 * undefined variables wherever they are always evaluated.
 */
function staticProblems(root: TemplateNode, defined: ReadonlySet<string>): TemplateError[] {
  const errors: TemplateError[] = [];
  const seen = new Set<string>();
  const visitAll = (node: TemplateNode, scope: ReadonlySet<string>, maybe: boolean): void => {
    const conditional = CONDITIONAL_FIELDS[node.typename];
    for (const f of new Set([...node.fields, 'children'])) {
      const c = node[f];
      const inner = maybe || (conditional?.has(f) ?? false);
      if (Array.isArray(c)) for (const x of c) { if (isNode(x)) visit(x, scope, inner); }
      else if (isNode(c)) visit(c, scope, inner);
    }
  };
  const visit = (node: TemplateNode, scope: ReadonlySet<string>, maybe = false): void => {
    const unsupported = unsupportedMessage(node.typename);
    if (unsupported) {
      errors.push({ code: 'CONFIG_TEMPLATE_SYNTAX', line: node.lineno + 1, column: node.colno + 1, message: unsupported });
      return;
    }
    switch (node.typename) {
      case 'Symbol': {
        const name = String(node.value);
        const where = `${node.lineno}:${node.colno}`;
        if (!maybe && !scope.has(name) && !seen.has(where)) {
          seen.add(where);
          errors.push({
            code: 'CONFIG_UNDEFINED_VARIABLE',
            line: node.lineno + 1,
            column: node.colno + 1,
            endColumn: node.colno + 1 + name.length,
            message: `undefined variable "${name}"; expected it to be defined in dispenser.vars or a *.dispenser.vars file (for a literal \${…}, e.g. in a shell command, write {% raw %}\${${name}}{% endraw %})`,
          });
        }
        return;
      }
      case 'For': {
        const inner = new Set([...scope, ...boundNames(node.name), 'loop']);
        // `for x in xs if x.on`: the condition sees the loop variable (template-eval.ts)
        const arr = node.arr as TemplateNode;
        const loopFilter = arr.typename === 'InlineIf' && !arr.else_;
        visit(loopFilter ? (arr.body as TemplateNode) : arr, scope, maybe);
        if (loopFilter) visit(arr.cond as TemplateNode, inner, true);
        // the body and else run only for a (non-)empty list
        for (const c of children(node, new Set(['arr', 'name']))) visit(c, inner, true);
        return;
      }
      case 'Set': {
        if (isNode(node.value)) visit(node.value, scope, maybe);
        if (isNode(node.body)) visit(node.body, scope, maybe);
        for (const n of boundNames(node.targets)) (scope as Set<string>).add(n);
        return;
      }
      case 'Filter': {
        const filter = node.name as TemplateNode;
        if (!FILTERS.has(String(filter.value))) errors.push({ code: 'CONFIG_TEMPLATE_SYNTAX', line: filter.lineno + 1, column: filter.colno + 1, message: `unknown filter "${String(filter.value)}"${suggestion(String(filter.value), [...FILTERS.keys()])}; the filters are listed in docs/configuration/variables-and-secrets.md` });
        // `x | default(…)` is how a template gives a fallback for a name that may be undefined
        if (/^d(efault)?$/.test(String((node.name as TemplateNode).value))) {
          const [value, ...rest] = ((node.args as TemplateNode).children as TemplateNode[]);
          if (value && value.typename !== 'Symbol') visit(value, scope, maybe);
          for (const c of rest) visit(c, scope, maybe);
        } else {
          for (const c of children(node, new Set(['name']))) visit(c, scope, maybe);
        }
        return;
      }
      case 'FunCall':
        // `range(3)`: the callee is a function name, not a variable; `loop.cycle(…)` is an expression
        for (const c of children(node, new Set(['name']))) visit(c, scope, maybe);
        if (isNode(node.name) && node.name.typename !== 'Symbol') visit(node.name, scope, maybe);
        return;
      case 'KeywordArgs':
        // in `sort(reverse=true)` the name is the argument's, not a variable
        for (const p of node.children as TemplateNode[]) if (isNode(p.value)) visit(p.value, scope, maybe);
        return;
      case 'Is':
        // `x is defined` is how a template asks; the test name is not a variable either
        if (!(isNode(node.left) && node.left.typename === 'Symbol' && isNode(node.right) && /^(un)?defined$/.test(String(node.right.value)))) {
          if (isNode(node.left)) visit(node.left, scope, maybe);
        }
        return;
      default:
        visitAll(node, scope, maybe);
    }
  };
  visit(root, new Set(defined));
  return errors;
}

function syntaxError(source: string, err: unknown): TemplateError {
  if (err instanceof RangeError) {
    return { code: 'CONFIG_TEMPLATE_LIMIT', line: 1, column: 1, message: 'this template nests brackets or blocks too deeply to parse; config templates are bounded so a mistake cannot crash the daemon' };
  }
  const raw = err instanceof Error ? err.message : String(err);
  const pos = /\[Line (\d+), Column (\d+)\]/.exec(raw);
  // nunjucks prefixes "(unknown path)" lines; the last line is the reason
  const detail = (raw.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^(Template render error: )?\(unknown path\)/.test(l)).pop() ?? raw).replace(/^Error:\s*/, '');
  const lines = source.split('\n');
  const e = err as { lineno?: number; colno?: number };
  const line = pos ? Number(pos[1]) : e.lineno ?? lines.length;
  const column = pos ? Number(pos[2]) : e.colno ?? (lines[line - 1]?.length ?? 0) + 1;
  return {
    code: 'CONFIG_TEMPLATE_SYNTAX',
    line: Math.max(1, line),
    column: Math.max(1, column),
    message: `template error: ${detail}; expected \`\${ name }\` or a {% if %} / {% for %} block closed with {% endif %} / {% endfor %}`,
  };
}

function suggestion(name: string, known: string[]): string {
  const guess = closest(name, known);
  return guess ? ` (did you mean "${guess}"?)` : '';
}
