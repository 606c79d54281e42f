import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insecureMatcher, loadInsecureRegistries } from '../../src/registry/insecure.js';

test('insecure registries: loopback always, daemon entries by host[:port] or CIDR', () => {
  const m = insecureMatcher(['myreg.lan:5000', '10.0.0.0/8', 'http://legacy.lan/', 'fd00::/8']);
  const cases: [string, boolean][] = [
    ['127.0.0.1:5000', true],
    ['localhost:5000', true],
    ['myreg.lan:5000', true],
    ['MyReg.lan:5000', true],
    ['myreg.lan', false],
    ['myreg.lan:5001', false],
    ['legacy.lan', true],
    ['10.1.2.3:5000', true],
    ['10.1.2.3', true],
    ['11.1.2.3:5000', false],
    ['[fd00::1]:5000', true],
    ['ghcr.io', false],
    ['docker.io', false],
  ];
  for (const [registry, expected] of cases) assert.equal(m(registry), expected, registry);
});

test('insecure-registries are read from the Docker daemon config; no file means loopback only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cd-daemon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'daemon.json');
  await writeFile(path, JSON.stringify({ 'insecure-registries': ['192.168.0.0/16'] }));
  assert.equal((await loadInsecureRegistries(path))('192.168.1.10:5000'), true);
  const none = await loadInsecureRegistries(join(dir, 'missing.json'));
  assert.equal(none('192.168.1.10:5000'), false);
  assert.equal(none('127.0.0.1:5000'), true);
});
