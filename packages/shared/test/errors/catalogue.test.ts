import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorCatalogue, errorDocsLink, isErrorCode, type ErrorCode, type ErrorEntry } from '../../src/errors/catalogue.js';
import { renderErrorTable, updateErrorReference } from '../../src/errors/reference.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const PAGE = join(ROOT, 'docs', 'reference', 'errors.md');

test('docs/reference/errors.md lists exactly the codes of the catalogue, as the catalogue describes them', () => {
  const page = readFileSync(PAGE, 'utf8');
  assert.equal(updateErrorReference(page), page, 'docs/reference/errors.md is stale: run `npm run docs:errors`');
  for (const code of Object.keys(errorCatalogue)) assert.ok(page.includes(`\`${code}\``), `${code} is not on the page`);
});

test("every code's docs link lands on its row of docs/reference/errors.md", () => {
  const page = readFileSync(PAGE, 'utf8');
  for (const code of Object.keys(errorCatalogue) as ErrorCode[]) {
    const [file, anchor] = errorDocsLink(code).split('#');
    assert.equal(file, 'docs/reference/errors.md');
    assert.match(page, new RegExp(`<a id="${anchor}"></a>\`${code}\``), `no anchor for ${code}`);
  }
  assert.equal(errorDocsLink('CONFIG_NOT_FOUND'), 'docs/reference/errors.md#config-not-found');
});

test('codes that follow each other with the same text share a row; a | in the text does not split a cell', () => {
  const catalogue: Record<string, ErrorEntry> = {
    A_ONE: { area: 'cli', where: 'w', action: 'a' },
    A_TWO: { area: 'cli', where: 'w', action: 'a' },
    B: { area: 'cli', where: 'x | y', action: 'a' },
    C: { area: 'proxy', where: 'elsewhere', action: 'a' },
  };
  assert.equal(renderErrorTable('cli', catalogue), ['| code | where | what to do |', '|---|---|---|', '| <a id="a-one"></a>`A_ONE`, <a id="a-two"></a>`A_TWO` | w | a |', '| <a id="b"></a>`B` | x \\| y | a |'].join('\n'));
  assert.throws(() => updateErrorReference('# no tables\n', catalogue), /no table for the area "cli"/);
});

/**
 * A log line's `{ code: '…' }` is not checked by the compiler (pino takes any object), so the
 * sources are read: every literal that stands as a code is in the catalogue, or is one of Node's
 * or undici's own codes that the code compares against.
 */
test('every code literal in the sources is a catalogue code (or a code of Node or undici)', () => {
  const foreign = /^(E[A-Z]+|EAI_[A-Z]+|ERR_[A-Z0-9_]+|UND_ERR_[A-Z_]+|ABORT_ERR)$/;
  const literal = /(?:\bcode: |\bcode [!=]== |\?\? |\bcase )'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'/g;
  const unknown: string[] = [];
  for (const file of sources(join(ROOT, 'packages'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(literal)) {
      const code = m[1]!;
      if (!isErrorCode(code) && !foreign.test(code)) unknown.push(`${file.slice(ROOT.length)}: ${code}`);
    }
  }
  assert.deepEqual(unknown, [], 'codes missing from packages/shared/src/errors/catalogue.ts');
});

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'test') continue;
      yield* sources(p);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}
