import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@dispenser/shared/config/load';
import { initialState } from '../src/state.js';

test('a worker whose settings have not arrived yet holds the configuration defaults (shutdown_timeout 10 s, as documented)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-proxy-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dispenser.toml'), '');
  const result = await loadConfig(join(dir, 'dispenser.toml'), { env: {} });
  assert.ok(result.ok);
  const { settings } = initialState();
  assert.equal(settings.shutdownTimeoutMs, 10_000);
  assert.deepEqual({ ...settings, workers: result.config.proxy.workers }, result.config.proxy);
});
