import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

test('a [[notify]] secret written as plain text is scrubbed by the config redactor, like a secret variable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'notify-config-'));
  try {
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'service.toml'), '[service]\nname = "app"\nimage = "nginx"\n[dispenser]\nwatch = false\n');
    writeFileSync(join(dir, 'dispenser.toml'), '[[service]]\npath = "app"\n[[notify]]\nurl = "http://127.0.0.1:9/x"\nsecret = "plain-hmac-key-4c1d9e"\n');
    const r = await loadConfig(join(dir, 'dispenser.toml'));
    assert.ok(r.ok);
    assert.equal(r.config.notify[0]?.secret, 'plain-hmac-key-4c1d9e');
    assert.equal(r.redact?.('signing with plain-hmac-key-4c1d9e now'), 'signing with [secret] now');
    assert.doesNotMatch(r.redact?.('cut: plain-hm…') ?? '', /plain-hm/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
