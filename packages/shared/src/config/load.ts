import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigDocument } from './document.js';
import { exists, isDirectory, readConfigFile } from './files.js';
import type { LoadedMain, LoadedService } from './loaded.js';
import { normalizeConfig } from './normalize.js';
import { resolveServiceFile } from './normalize-values.js';
import { configNotices } from './notices.js';
import { dispenserFileSchema, serviceFileSchema } from './schema.js';
import { validateWith } from './schema-problems.js';
import { SecretResolver } from './secrets.js';
import { redactor, redactProblems } from './redact.js';
import { selectServices } from './select.js';
import { renderTemplate } from './template.js';
import { parseToml, type TomlTable } from './toml.js';
import type { DispenserConfig } from './types.js';
import type { ConfigProblem } from './problem.js';
import { validateAcrossFiles } from './validate.js';
import { loadVars, withPlaceholders, type VarOverride, type VarValue } from './vars.js';


export interface LoadOptions {
  /** environment for `source = "env"` secrets; defaults to process.env */
  env?: NodeJS.ProcessEnv;
  /** dev mode: keep only these services (by service dir path or name), drop depends_on to others */
  only?: readonly string[];
}

export type LoadResult = (
  | {
      ok: true;
      config: DispenserConfig;
      /** warnings and notes about a valid config (severity set), in reading order, secrets scrubbed */
      notices?: ConfigProblem[];
      /** scrubs the secret values of this config from any text (e.g. a failed container's log lines); kept out of `config` so that plain data never carries a secret list */
      redact?: (text: string) => string;
    }
  | {
      ok: false;
      problems: ConfigProblem[];
      /** scrubs the secret values fetched during this load from any text (e.g. code frames); messages are already scrubbed */
      redact?: (text: string) => string;
    }
) & {
  /** variables a later vars file defines again (`--test` lists them) */
  overrides?: readonly VarOverride[];
};

/** Reads, renders, parses and validates a whole config directory. Never throws for bad input. */
export async function loadConfig(configFile: string, options: LoadOptions = {}): Promise<LoadResult> {
  try {
    return await load(resolve(configFile), options);
  } catch (err) {
    // A bug, not bad input; still data, so a reload keeps the running config and nobody sees a stack trace.
    const message = `internal error while loading the configuration: ${err instanceof Error ? err.message : String(err)}; please report it`;
    return { ok: false, problems: [{ code: 'CONFIG_INTERNAL_ERROR', file: resolve(configFile), message }] };
  }
}

async function load(file: string, options: LoadOptions): Promise<LoadResult> {
  const baseDir = dirname(file);
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];

  const vars = await loadVars(baseDir, new SecretResolver(env, baseDir));
  problems.push(...vars.problems);
  const templateVars = withPlaceholders(vars.values, vars.failed);
  // problems are listed file by file in the order the files are read
  const fileRank: string[] = [...vars.files, file];
  const finish = (result: LoadResult): LoadResult =>
    result.ok ? result : { ok: false, problems: redactProblems(inReadingOrder(result.problems, fileRank), vars.secretValues), redact: redactor(vars.secretValues), overrides: vars.overrides };

  const main = await loadFile(file, 'dispenser.toml', templateVars, (doc, table) => validateWith(doc, dispenserFileSchema, table));
  if (!main.ok) {
    problems.push(...main.problems);
    // Keep going with the [[service]] list when only other keys are wrong: report every problem.
    const entries = main.doc && main.table ? serviceEntriesSchema.safeParse(main.table.service ?? []) : undefined;
    if (!main.doc || !entries?.success) return finish({ ok: false, problems });
    const loaded = await loadServices(main.doc, baseDir, entries.data, templateVars);
    fileRank.push(...entries.data.map((e) => join(resolve(baseDir, e.path), 'service.toml')));
    for (const [, list] of [...loaded.problems].sort((a, b) => a[0] - b[0])) problems.push(...list);
    return finish({ ok: false, problems });
  }
  const loadedMain: LoadedMain = { file, baseDir, doc: main.doc, value: main.value };
  const { services, problems: serviceProblems, names } = await loadServices(main.doc, baseDir, main.value.service, templateVars);
  fileRank.push(...main.value.service.map((e) => join(resolve(baseDir, e.path), 'service.toml')));

  const selection = selectServices(loadedMain, services, options.only, names);
  for (const [index, list] of [...serviceProblems].sort((a, b) => a[0] - b[0])) {
    if (selection.keepProblemsOf(index)) problems.push(...list);
  }
  problems.push(...selection.problems);
  problems.push(...validateAcrossFiles(loadedMain, selection.services, selection.allNames));
  if (problems.length > 0) return finish({ ok: false, problems });
  const config = normalizeConfig(loadedMain, selection.services, { exists: existsSync, ...(options.only ? { loadedNames: new Set(selection.services.map((s) => s.value.service.name)) } : {}) });
  // a [[notify]] secret written as plain text is a secret all the same
  const secretValues = [...vars.secretValues, ...config.notify.flatMap((n) => (n.secret === undefined ? [] : [n.secret]))];
  const notices = redactProblems(inReadingOrder(configNotices(loadedMain, selection.services), fileRank), secretValues);
  return { ok: true, config, notices, redact: redactor(secretValues), overrides: vars.overrides };
}

/** Files in the order they were first mentioned, each file's problems top to bottom. */
function inReadingOrder(problems: readonly ConfigProblem[], files: readonly string[]): ConfigProblem[] {
  const fileOrder = new Map<string, number>();
  for (const f of files) if (!fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
  for (const p of problems) if (!fileOrder.has(p.file)) fileOrder.set(p.file, fileOrder.size);
  return [...problems].sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

type FileResult<T> = { ok: true; doc: ConfigDocument; value: T } | { ok: false; problems: ConfigProblem[]; doc?: ConfigDocument; table?: TomlTable };

const serviceEntriesSchema = z.array(z.object({ path: z.string().min(1) }));

/** Every [[service]] entry's directory and service.toml; problems keyed by entry index. */
async function loadServices(mainDoc: ConfigDocument, baseDir: string, entries: readonly { path: string }[], templateVars: Record<string, VarValue>): Promise<{ services: LoadedService[]; problems: Map<number, ConfigProblem[]>; names: Set<string> }> {
  const services: LoadedService[] = [];
  const problems = new Map<number, ConfigProblem[]>();
  const names = new Set<string>();
  const firstEntry = new Map<string, number>();
  await Promise.all(
    entries.map(async (entry, index) => {
      const dir = resolve(baseDir, entry.path);
      const first = firstEntry.get(dir);
      if (first !== undefined) {
        problems.set(index, [mainDoc.problem('CONFIG_DUPLICATE_SERVICE', ['service', index, 'path'], `service directory ${dir} is already listed as service[${first}]; list each directory once`, 'value')]);
        return;
      }
      firstEntry.set(dir, index);
      if (!(await isDirectory(dir))) {
        const why = (await exists(dir)) ? 'is not a directory' : 'does not exist';
        problems.set(index, [mainDoc.problem('CONFIG_SERVICE_DIR_MISSING', ['service', index, 'path'], `service directory ${dir} ${why}; expected a directory holding a service.toml (relative paths resolve from ${baseDir})`, 'value')]);
        return;
      }
      const serviceFile = join(dir, 'service.toml');
      const loaded = await loadFile(serviceFile, 'service.toml', templateVars, (doc, table) => {
        const name = (table.service as { name?: unknown } | undefined)?.name;
        if (typeof name === 'string') names.add(name);
        return validateWith(doc, serviceFileSchema, table);
      });
      if (!loaded.ok) {
        problems.set(index, loaded.problems);
        return;
      }
      const service: LoadedService = { index, entryPath: entry.path, dir, file: serviceFile, doc: loaded.doc, value: loaded.value };
      const fileProblems = await checkServiceFiles(service, baseDir);
      if (fileProblems.length) problems.set(index, fileProblems);
      services.push(service);
    }),
  );
  services.sort((a, b) => a.index - b.index);
  return { services, problems, names };
}

/** read → render → parse → schema, for one file. */
async function loadFile<T>(file: string, what: string, vars: Record<string, VarValue>, validate: (doc: ConfigDocument, table: TomlTable) => { ok: true; value: T } | { ok: false; problems: ConfigProblem[] }): Promise<FileResult<T>> {
  const read = await readConfigFile(file, what);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  const rendered = renderTemplate(read.text, vars);
  if (!rendered.ok) return { ok: false, problems: rendered.errors.map((e) => ({ code: e.code, file, line: e.line, column: e.column, ...(e.endColumn ? { endColumn: e.endColumn } : {}), message: e.message })) };
  const doc = new ConfigDocument(file, read.text, rendered.text);
  const parsed = parseToml(rendered.text);
  if (!parsed.ok) {
    const at = doc.toSource(parsed.line, parsed.column);
    // the error is in text a variable produced, e.g. a value with a quote inside "…"
    const fromVariable = read.text.split('\n')[at.line - 1]?.startsWith('${', at.column - 1) ?? false;
    const hint = fromVariable ? '; the error is in the text a variable produced: if its value may contain quotes or backslashes, write ${ name | tojson } without surrounding quotes' : '';
    return { ok: false, problems: [{ code: 'CONFIG_TOML_SYNTAX', file, ...at, message: parsed.message + hint }] };
  }
  const valid = validate(doc, parsed.value);
  return valid.ok ? { ok: true, doc, value: valid.value } : { ...valid, doc, table: parsed.value };
}

/** cert_file / key_file must be there to be served. */
async function checkServiceFiles(s: LoadedService, baseDir: string): Promise<ConfigProblem[]> {
  const out: ConfigProblem[] = [];
  for (const key of ['cert_file', 'key_file'] as const) {
    const rel = s.value.proxy?.[key];
    if (rel === undefined) continue;
    const path = resolveServiceFile(rel, s.dir, baseDir, existsSync);
    const read = await readConfigFile(path, key);
    if (!read.ok) out.push(s.doc.problem(read.problem.code, ['proxy', key], `${key} ${path} ${read.missing ? 'does not exist' : 'cannot be read'}; expected a PEM file (relative paths resolve from ${s.dir}, or from ${baseDir} when not there)`, 'value'));
  }
  return out;
}
