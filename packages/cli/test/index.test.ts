import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '@dispenser/shared/testing/daemon';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PACKAGED_CONFIG_FILE as PACKAGED_CONFIG } from '@dispenser/shared/defaults';

// dist/test/ → the package dir; fixtures are not copied into dist
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
// web is valid, broken/ has a TOML syntax error
const DEV_ONLY = join(PACKAGE, '..', 'shared', 'test', 'fixtures', 'config', 'valid-dev-only');

test('-V and --version print the version', async () => {
  for (const flag of ['-V', '--version']) {
    const r = await runCli([flag], {}, { cwd: PACKAGE });
    assert.equal(r.code, 0, flag);
    assert.match(r.stdout, /^dispenser\/\d+\.\d+\.\d+ /, flag);
  }
});

test('-h shows the help of every command', async () => {
  for (const [args, usage] of [[['-h'], 'dispenser run'], [['dev', '-h'], 'dispenser dev'], [['down', '-h'], 'dispenser down'], [['run', '-h'], 'dispenser run']] as const) {
    const r = await runCli([...args], {}, { cwd: PACKAGE });
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, new RegExp(`USAGE\\n  \\$ ${usage} `), args.join(' '));
  }
});

test('without -c the configuration is ./dispenser.toml in the working directory', async () => {
  const r = await runCli(['-t', 'dev', '-s', 'web'], {}, { cwd: DEV_ONLY });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.equal(r.code, 0);
  // (on a packaged install /opt/dispenser/dispenser.toml would be taken instead)
  if (existsSync(PACKAGED_CONFIG)) return;
  const empty = mkdtempSync(join(tmpdir(), 'dispenser-argv-'));
  try {
    const missing = await runCli(['-t'], {}, { cwd: empty });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: dispenser\.toml \[CONFIG_FILE_MISSING\]\ndispenser\.toml does not exist/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('global flags before the command: -t dev -s NAME validates only that selection', async () => {
  const config = join(DEV_ONLY, 'dispenser.toml');
  const all = await runCli(['-c', config, '-t'], {}, { cwd: PACKAGE });
  assert.equal(all.code, 1, 'the whole configuration has a broken service');
  assert.match(all.stderr, /broken\/service\.toml/);
  for (const args of [['-c', config, '-t', 'dev', '-s', 'web'], ['-c', config, 'dev', '-t', '-s', 'web'], ['dev', '-s', 'web', '-c', config, '-t']]) {
    const r = await runCli(args, {}, { cwd: PACKAGE });
    assert.equal(r.stdout, 'Dispenser config is ok.\n', args.join(' '));
    assert.equal(r.code, 0, args.join(' '));
  }
  const unmatched = await runCli(['-c', config, '-t', 'dev', '-s', 'nosuch'], {}, { cwd: PACKAGE });
  assert.equal(unmatched.code, 1);
  assert.match(unmatched.stderr, /no service matches "nosuch"/);
  // dev without -s: every service, so the broken one too
  const every = await runCli(['-c', config, '-t', 'dev'], {}, { cwd: PACKAGE });
  assert.equal(every.code, 1);
  assert.match(every.stderr, /broken\/service\.toml/);
});
