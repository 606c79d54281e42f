import { join } from 'node:path';
import type { ConfigProblem } from './problem.js';
import { ConfigDocument } from './document.js';
import { listDir, readConfigFile } from './files.js';
import { secretRefSchema } from './schema.js';
import { validateWith } from './schema-problems.js';
import type { SecretResolver } from './secrets.js';
import { closest } from './suggest.js';
import { renderTemplate } from './template.js';
import { parseToml } from './toml.js';

export type VarValue = string | number | boolean | readonly (string | number | boolean)[];

export interface Vars {
  values: Record<string, VarValue>;
  /** every secret value fetched, so outputs can be scrubbed of them */
  secretValues: string[];
  /** names whose value could not be determined: templates must not report them again as undefined */
  failed: Set<string>;
  problems: ConfigProblem[];
  /** the vars files read, in order */
  files: string[];
  /** variables a later vars file defines again (its value wins), in reading order */
  overrides: VarOverride[];
}

/** Where a variable is written: file and 1-based line. */
export interface VarSite {
  file: string;
  line: number;
}

export interface VarOverride {
  name: string;
  /** the definition that wins */
  at: VarSite;
  /** the one it replaces */
  replaces: VarSite;
}

const SECRET_SOURCES = ['google', 'env', 'file'];
export const VARS_FILE = 'dispenser.vars';
const EXTRA_VARS = /^.+\.dispenser\.vars$/;

/**
 * dispenser.vars first (secrets resolved), then every *.dispenser.vars in name order, each
 * rendered as a template with the values of dispenser.vars. A name defined again in a later file
 * takes the later value (as in the original Dispenser, but in a fixed order) and is recorded as
 * an override so that `--test` can show it.
 */
export async function loadVars(baseDir: string, secrets: SecretResolver): Promise<Vars> {
  const vars: Vars = { values: {}, secretValues: [], failed: new Set(), problems: [], files: [], overrides: [] };
  const definedIn = new Map<string, VarSite>();
  await loadVarsFile(join(baseDir, VARS_FILE), undefined, vars, definedIn, secrets);
  const base = { ...vars.values };
  const extra = (await listDir(baseDir)).filter((n) => EXTRA_VARS.test(n)).sort();
  for (const name of extra) await loadVarsFile(join(baseDir, name), base, vars, definedIn, secrets);
  return vars;
}

async function loadVarsFile(file: string, templateVars: Record<string, VarValue> | undefined, vars: Vars, definedIn: Map<string, VarSite>, secrets: SecretResolver): Promise<void> {
  vars.files.push(file);
  const read = await readConfigFile(file, 'vars file');
  if (!read.ok) {
    if (!read.missing || templateVars !== undefined) vars.problems.push(read.problem);
    return;
  }
  let rendered = read.text;
  if (templateVars !== undefined) {
    const r = renderTemplate(read.text, withPlaceholders(templateVars, vars.failed));
    if (!r.ok) {
      for (const e of r.errors) vars.problems.push({ code: e.code, file, line: e.line, column: e.column, ...(e.endColumn ? { endColumn: e.endColumn } : {}), message: e.message });
      return;
    }
    rendered = r.text;
  }
  const doc = new ConfigDocument(file, read.text, rendered);
  const parsed = parseToml(rendered);
  if (!parsed.ok) {
    vars.problems.push({ code: 'CONFIG_TOML_SYNTAX', file, ...doc.toSource(parsed.line, parsed.column), message: parsed.message });
    return;
  }
  const pending: Promise<void>[] = [];
  for (const [name, value] of Object.entries(parsed.value)) {
    const site: VarSite = { file, line: doc.position([name]).line };
    const earlier = definedIn.get(name);
    if (earlier !== undefined) {
      vars.overrides.push({ name, at: site, replaces: earlier });
      // the earlier value is gone; whether the new one fails is decided below
      delete vars.values[name];
      vars.failed.delete(name);
    }
    definedIn.set(name, site);
    if (isScalar(value) || (Array.isArray(value) && value.every(isScalar))) {
      vars.values[name] = value as VarValue;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
      vars.failed.add(name);
      vars.problems.push(doc.problem('CONFIG_VARS_INVALID', [name], `invalid variable "${name}": expected a string, number, boolean, an array of those, or a secret reference like { source = "env", name = "VAR" }`, 'value'));
      continue;
    }
    if (!('source' in value)) {
      vars.failed.add(name);
      vars.problems.push(doc.problem('CONFIG_VARS_INVALID', [name], `invalid variable "${name}": a table must be a secret reference with source = "google", "env" or "file"; nested tables are not variables`, 'value'));
      continue;
    }
    const source = (value as { source?: unknown }).source;
    if (typeof source !== 'string' || !SECRET_SOURCES.includes(source)) {
      vars.failed.add(name);
      const guess = typeof source === 'string' ? closest(source, SECRET_SOURCES) : undefined;
      vars.problems.push(doc.problem('CONFIG_INVALID_VALUE', [name, 'source'], `secret "${name}": expected source = "google", "env" or "file"; got ${JSON.stringify(source)}${guess ? ` (did you mean "${guess}"?)` : ''}`, 'value'));
      continue;
    }
    const ref = validateWith(doc, secretRefSchema, value, [name]);
    if (!ref.ok) {
      vars.failed.add(name);
      vars.problems.push(...ref.problems.map((p) => ({ ...p, message: `secret reference: ${p.message}` })));
      continue;
    }
    pending.push(
      secrets.resolve(ref.value).then((r) => {
        if (r.ok) {
          vars.values[name] = r.value;
          if (r.value !== '') vars.secretValues.push(r.value);
        } else {
          vars.failed.add(name);
          vars.problems.push(doc.problem('CONFIG_SECRET_UNAVAILABLE', [name], `secret "${name}" (source = "${ref.value.source}") could not be read: ${r.message}`, 'value'));
        }
      }),
    );
  }
  await Promise.all(pending);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Variables that failed to load still render (as empty strings) so one failure is reported once. */
export function withPlaceholders(values: Record<string, VarValue>, failed: ReadonlySet<string>): Record<string, VarValue> {
  const out: Record<string, VarValue> = { ...values };
  for (const name of failed) if (!(name in out)) out[name] = '';
  return out;
}
