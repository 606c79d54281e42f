import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { parseListenAddress } from '../../src/config/schema.js';

async function load(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-metrics-config-'));
  try {
    writeFileSync(join(dir, 'dispenser.toml'), toml);
    return await loadConfig(join(dir, 'dispenser.toml'), { env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('[metrics] listen takes an IP and a port; IPv6 in brackets; names and missing ports are refused', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9180'), { ok: true, value: { host: '127.0.0.1', port: 9180 } });
  assert.deepEqual(parseListenAddress('[::1]:9180'), { ok: true, value: { host: '::1', port: 9180 } });
  assert.deepEqual(parseListenAddress('0.0.0.0:1'), { ok: true, value: { host: '0.0.0.0', port: 1 } });
  for (const bad of ['localhost:9180', '127.0.0.1', ':9180', '127.0.0.1:0', '127.0.0.1:65536', '::1:9180', '[127.0.0.1]:9180', '127.0.0.1:91x0', '']) {
    assert.equal(parseListenAddress(bad).ok, false, bad);
  }
});

test('without [metrics] there is no metrics listener; with it, the address is in the config', async () => {
  const off = await load('[proxy]\nenabled = false\n');
  assert.ok(off.ok);
  assert.equal(off.config.metrics, undefined);
  const on = await load('[proxy]\nenabled = false\n\n[metrics]\nlisten = "127.0.0.1:9180"\n');
  assert.ok(on.ok);
  assert.deepEqual(on.config.metrics, { listen: { host: '127.0.0.1', port: 9180 } });
});

test('a bad [metrics] listen is reported with its file and line', async () => {
  const r = await load('[proxy]\nenabled = false\n\n[metrics]\nlisten = "localhost:9180"\n');
  assert.equal(r.ok, false);
  const p = !r.ok ? r.problems[0] : undefined;
  assert.equal(p?.line, 5);
  assert.match(p?.file ?? '', /dispenser\.toml$/);
  assert.match(p?.message ?? '', /an IP address and port/);
});

test('[metrics] on a proxy port clashes (CONFIG_PORT_CLASH); on another address of a specific bind it does not', async () => {
  const clash = await load('[proxy]\nhttp_port = 8080\nhttps_port = 8443\n\n[metrics]\nlisten = "127.0.0.1:8443"\n');
  assert.equal(clash.ok, false);
  const p = !clash.ok ? clash.problems.find((x) => x.code === 'CONFIG_PORT_CLASH') : undefined;
  assert.ok(p, 'CONFIG_PORT_CLASH');
  assert.equal(p.line, 6);
  assert.match(p.message, /metrics port 8443 is already used by the proxy's https_port/);
  const apart = await load('[proxy]\nhttp_port = 8080\nhttps_port = 8443\nbind = "10.1.2.3"\n\n[metrics]\nlisten = "127.0.0.1:8443"\n');
  assert.ok(apart.ok, JSON.stringify(!apart.ok && apart.problems));
});
