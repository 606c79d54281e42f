import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { parseDuration } from '../src/config/units.js';
import { ACME_DIRECTORY_URL, HSTS_DEFAULTS, NOTIFY_DEFAULTS, POLL_DELAY_S, PROXY_DEFAULTS, SERVICE_PROXY_DEFAULTS, defaultProxySettings, proxyWorkers } from '../src/defaults.js';

// tsc does not copy the docs: resolve them from the package dir (dist/test → ../../../../docs)
const DOCS = fileURLToPath(new URL('../../../../docs/configuration/', import.meta.url));

/** `key` → the default column of every `| key | type | default | meaning |` row of a docs page. */
function documentedDefaults(page: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(DOCS, page), 'utf8').split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim()); // `\|` is a pipe inside a cell
    // ['', key, type, default, meaning, '']
    if (cells.length < 6 || !cells[1]!.startsWith('`')) continue;
    out.set(cells[1]!.replace(/`/g, ''), cells[3]!);
  }
  return out;
}

/** The value a docs cell such as `"5s"`, `80`, `true` or `"0.0.0.0"` stands for; durations in ms. */
function documentedValue(cell: string, duration: boolean): unknown {
  const m = /^`(.*)`$/.exec(cell);
  assert.ok(m, `a default in backticks, got ${cell}`);
  const raw = m[1]!;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^\d+$/.test(raw)) return Number(raw);
  const text = JSON.parse(raw) as string;
  if (!duration) return text;
  const parsed = parseDuration(text);
  assert.ok(parsed.ok, `${text} is a duration`);
  return parsed.value;
}

/** connectTimeoutMs → connect_timeout, as dispenser.toml spells it */
const tomlKey = (field: string): string => field.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

test('dispenser.toml reference: every [proxy] default in the table is the one Dispenser uses', () => {
  const docs = documentedDefaults('dispenser-toml.md');
  const expected: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(PROXY_DEFAULTS).map(([field, value]) => [tomlKey(field), value])),
    hsts: HSTS_DEFAULTS.hsts,
    hsts_include_subdomains: HSTS_DEFAULTS.includeSubDomains,
  };
  for (const [key, value] of Object.entries(expected)) {
    const cell = docs.get(`[proxy] ${key}`);
    assert.ok(cell !== undefined, `[proxy] ${key} is documented`);
    assert.deepEqual(documentedValue(cell, key.endsWith('_timeout')), value, `[proxy] ${key}`);
  }
  assert.match(docs.get('[proxy] workers')!, /CPU count/);
  assert.equal(documentedValue(docs.get('delay')!, false), POLL_DELAY_S);
  assert.equal(documentedValue(docs.get('[certbot] directory_url')!, false), ACME_DIRECTORY_URL);
  assert.equal(documentedValue(docs.get('format')!, false), NOTIFY_DEFAULTS.format, '[[notify]] format');
});

test('service.toml reference: every [proxy] default in the table is the one Dispenser uses', () => {
  const docs = documentedDefaults('service-toml.md');
  for (const [field, value] of Object.entries(SERVICE_PROXY_DEFAULTS)) {
    const cell = docs.get(tomlKey(field));
    assert.ok(cell !== undefined, `[proxy] ${tomlKey(field)} is documented`);
    assert.deepEqual(documentedValue(cell, field.endsWith('Ms')), value, `[proxy] ${tomlKey(field)}`);
  }
});

test('a dispenser.toml that sets nothing runs with the defaults of the module, one proxy worker per CPU', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-defaults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dispenser.toml'), '');
  const result = await loadConfig(join(dir, 'dispenser.toml'), { env: {} });
  assert.ok(result.ok);
  assert.deepEqual(result.config.proxy, defaultProxySettings(availableParallelism()));
  assert.equal(result.config.delayMs, POLL_DELAY_S * 1000);
  assert.equal(result.config.stateDir, join(dir, '.dispenser'));
});

test('[proxy] workers: the configured count, else the CPU count', () => {
  assert.equal(proxyWorkers(3, 8), 3);
  assert.equal(proxyWorkers(undefined, 8), 8);
});
