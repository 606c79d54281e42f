import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { formatOverride } from '../../src/config/format.js';

test('a variable defined again in a later vars file takes the later value; each override is reported with both places', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-vars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dispenser.vars'), 'env = "prod"\ntag = "1"\nport = 80\n');
  // name order: a. before z., whatever order the directory lists them in
  writeFileSync(join(dir, 'z.dispenser.vars'), '# last\n\ntag = "3"\n');
  writeFileSync(join(dir, 'a.dispenser.vars'), '{% if env == "prod" %}\nport = 8080\n{% endif %}\ntag = "2"\n');
  writeFileSync(join(dir, 'dispenser.toml'), '[[service]]\npath = "web"\n');
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'web', 'service.toml'), '[service]\nname = "web"\nimage = "example/web:${ tag }"\n[[port]]\nhost = ${ port }\ncontainer = 80\n[dispenser]\nwatch = false\n');
  const r = await loadConfig(join(dir, 'dispenser.toml'));
  assert.equal(r.ok, true, JSON.stringify(!r.ok && r.problems));
  if (!r.ok) return;
  assert.equal(r.config.services[0]?.image, 'example/web:3');
  assert.equal(r.config.services[0]?.ports[0]?.host, 8080);
  const vars = (f: string) => join(dir, f);
  assert.deepEqual(r.overrides, [
    { name: 'port', at: { file: vars('a.dispenser.vars'), line: 2 }, replaces: { file: vars('dispenser.vars'), line: 3 } },
    { name: 'tag', at: { file: vars('a.dispenser.vars'), line: 4 }, replaces: { file: vars('dispenser.vars'), line: 2 } },
    { name: 'tag', at: { file: vars('z.dispenser.vars'), line: 3 }, replaces: { file: vars('a.dispenser.vars'), line: 4 } },
  ]);
  assert.equal(formatOverride(r.overrides![2]!, { relativeTo: dir }), 'note: variable "tag" of a.dispenser.vars:4 is overridden by z.dispenser.vars:3');
});
