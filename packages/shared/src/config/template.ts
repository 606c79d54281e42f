import nunjucks from 'nunjucks';

/**
 * `${ name }` interpolation plus Jinja-style `{% if %}` / `{% for %}` blocks (nunjucks). Every
 * undefined variable is reported by name and position before anything is rendered.
 */
const TAGS = { variableStart: '${', variableEnd: '}' };
// the parser is public at runtime but missing from @types/nunjucks
const parser = (nunjucks as unknown as { parser: { parse(src: string, extensions: unknown[], options: { tags: typeof TAGS }): TemplateNode } }).parser;
const env = new nunjucks.Environment(null, { throwOnUndefined: true, autoescape: false, tags: TAGS });

export interface TemplateError {
  code: 'CONFIG_UNDEFINED_VARIABLE' | 'CONFIG_TEMPLATE_SYNTAX';
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
  try {
    ast = parser.parse(source, [], { tags: TAGS });
  } catch (err) {
    return { ok: false, errors: [syntaxError(source, err)] };
  }
  const errors = undefinedVariables(ast, new Set(Object.keys(vars)));
  if (errors.length > 0) return { ok: false, errors };
  try {
    return { ok: true, text: env.renderString(source, { ...vars }) };
  } catch (err) {
    return { ok: false, errors: [syntaxError(source, err)] };
  }
}

interface TemplateNode {
  typename: string;
  fields: string[];
  lineno: number;
  colno: number;
  value?: unknown;
  [field: string]: unknown;
}

function isNode(x: unknown): x is TemplateNode {
  return typeof x === 'object' && x !== null && typeof (x as { typename?: unknown }).typename === 'string';
}

function children(node: TemplateNode, skip: ReadonlySet<string> = new Set()): TemplateNode[] {
  const out: TemplateNode[] = [];
  for (const f of [...node.fields, 'children']) {
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

function undefinedVariables(root: TemplateNode, defined: ReadonlySet<string>): TemplateError[] {
  const errors: TemplateError[] = [];
  const seen = new Set<string>();
  const visit = (node: TemplateNode, scope: ReadonlySet<string>): void => {
    switch (node.typename) {
      case 'Symbol': {
        const name = String(node.value);
        const where = `${node.lineno}:${node.colno}`;
        if (!scope.has(name) && !seen.has(where)) {
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
        visit(node.arr as TemplateNode, scope);
        const inner = new Set([...scope, ...boundNames(node.name), 'loop']);
        for (const c of children(node, new Set(['arr', 'name']))) visit(c, inner);
        return;
      }
      case 'Set': {
        if (isNode(node.value)) visit(node.value, scope);
        if (isNode(node.body)) visit(node.body, scope);
        for (const n of boundNames(node.targets)) (scope as Set<string>).add(n);
        return;
      }
      case 'Filter':
      case 'FunCall':
      case 'FilterAsync':
        // the callee is a filter or function name, not a variable
        for (const c of children(node, new Set(['name']))) visit(c, scope);
        if (node.typename === 'FunCall' && isNode(node.name) && node.name.typename !== 'Symbol') visit(node.name, scope);
        return;
      case 'Is':
        // `x is defined` is how a template asks; the test name is not a variable either
        if (!(isNode(node.left) && node.left.typename === 'Symbol' && isNode(node.right) && /^(un)?defined$/.test(String(node.right.value)))) {
          if (isNode(node.left)) visit(node.left, scope);
        }
        return;
      default:
        for (const c of children(node)) visit(c, scope);
    }
  };
  visit(root, new Set(defined));
  return errors;
}

function syntaxError(source: string, err: unknown): TemplateError {
  const raw = err instanceof Error ? err.message : String(err);
  const pos = /\[Line (\d+), Column (\d+)\]/.exec(raw);
  // nunjucks nests "Template render error: (unknown path)" prefixes; the last line is the reason
  const detail = (raw.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^(Template render error: )?\(unknown path\)/.test(l)).pop() ?? raw).replace(/^Error:\s*/, '');
  const lines = source.split('\n');
  const e = err as { lineno?: number; colno?: number };
  const guess = pos ? undefined : guessPosition(lines, detail);
  const line = pos ? Number(pos[1]) : guess?.line ?? e.lineno ?? lines.length;
  const column = pos ? Number(pos[2]) : guess?.column ?? e.colno ?? (lines[line - 1]?.length ?? 0) + 1;
  const undefinedOutput = /attempted to output null or undefined value/.test(detail);
  const hint = /template not found/.test(detail)
    ? 'expected no {% include %}, {% import %} or {% extends %}: config templates cannot load other files'
    : /filter not found/.test(detail)
      ? 'expected a built-in nunjucks filter such as upper, lower, replace, join, default or dump'
      : 'expected `${ name }` or a {% if %} / {% for %} block closed with {% endif %} / {% endfor %}';
  return {
    code: undefinedOutput ? 'CONFIG_UNDEFINED_VARIABLE' : 'CONFIG_TEMPLATE_SYNTAX',
    line: Math.max(1, line),
    column: Math.max(1, column),
    message: undefinedOutput ? 'this expression is undefined (a missing key or attribute of a variable)' : `template error: ${detail}; ${hint}`,
  };
}

/** Runtime errors carry no position: find the tag or filter they are about. */
function guessPosition(lines: string[], detail: string): { line: number; column: number } | undefined {
  const filter = /filter not found: (\S+)/.exec(detail)?.[1];
  const pattern = /template not found/.test(detail) ? /\{%-?\s*(include|import|extends|from)\b/ : filter ? new RegExp(`\\|\\s*${filter.replace(/[^\w]/g, '')}\\b`) : undefined;
  if (!pattern) return undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]!);
    if (m) return { line: i + 1, column: m.index + 1 };
  }
  return undefined;
}
