import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '@dispenser/shared/testing/daemon';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// dist/test/ → the package dir; fixtures are not copied into dist
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(PACKAGE, '..', 'shared', 'test', 'fixtures', 'config');

const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

test('dispenser -t on a valid config prints the ok line and exits 0', async () => {
  const r = await runCli(['-t', '-c', join(FIXTURES, 'valid-full', 'dispenser.toml')], {}, { cwd: PACKAGE });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('--test with a relative --config resolves it from the working directory', async () => {
  const r = await runCli(['--test', '--config', 'dispenser.toml'], {}, { cwd: join(FIXTURES, 'valid-minimal') });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.equal(r.code, 0);
});

test('dispenser -t on an invalid config reports every problem with a frame and exits 1, without a stack trace', async () => {
  const dir = join(FIXTURES, 'invalid-values');
  const r = await runCli(['-t', '-c', 'dispenser.toml'], {}, { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: dispenser\.toml:1:9 \[CONFIG_INVALID_VALUE\]\ninvalid "delay": expected an integer number of seconds ≥ 1; got "60"\n> 1 \| delay = "60"\n {4}\| {9}\^{4}/);
  assert.match(r.stderr, /error: app\/service\.toml:9:10 \[CONFIG_INVALID_VALUE\]/);
  assert.match(r.stderr, /\n48 problems found in the configuration\.\n$/);
  assert.doesNotMatch(r.stderr, STACK_TRACE);
});

test('a missing config file is a problem, not a crash', async () => {
  const r = await runCli(['-t', '-c', join(FIXTURES, 'invalid-no-config', 'dispenser.toml')], {}, { cwd: PACKAGE });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /dispenser\.toml \[CONFIG_FILE_MISSING\]\ndispenser\.toml does not exist/);
  assert.doesNotMatch(r.stderr, STACK_TRACE);
});

test('a secret value never reaches the output of --test', async () => {
  const r = await runCli(['-t', '-c', join(FIXTURES, 'invalid-secret-redaction', 'dispenser.toml')], { TEST_PW: 'hunter2 x' }, { cwd: PACKAGE });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /got "\[secret\]"/);
  assert.ok(!r.stderr.includes('hunter2') && !r.stdout.includes('hunter2'));
});

test('--test lists every variable a later vars file overrides, with the line of both', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-override-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dispenser.toml'), '');
  writeFileSync(join(dir, 'dispenser.vars'), 'registry = "r.example.com"\ndb_host = "localhost"\n');
  writeFileSync(join(dir, 'prod.dispenser.vars'), '# production\ndb_host = "db.internal"\n');
  const r = await runCli(['-t'], {}, { cwd: dir });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.equal(r.stderr, 'note: variable "db_host" of dispenser.vars:2 is overridden by prod.dispenser.vars:2\n');
  assert.equal(r.code, 0);
});

test('--test notes nothing about weekdays for @weekly, which means Sunday in both Dispensers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-weekly-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dispenser.toml'), '[[service]]\npath = "job"\n');
  mkdirSync(join(dir, 'job'));
  writeFileSync(join(dir, 'job', 'service.toml'), '[service]\nname = "job"\nimage = "busybox"\n\n[dispenser]\nwatch = false\ninitialize = "on-trigger"\ncron = "@weekly"\n');
  const r = await runCli(['-t'], {}, { cwd: dir });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('a config laid out like the original Dispenser\'s example passes --test, warning that telemetry is not written yet', async () => {
  const r = await runCli(['--test', '-c', 'dispenser.toml'], {}, { cwd: join(FIXTURES, 'valid-original-example') });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.match(r.stderr, /^warning: dispenser\.toml:9:11 \[CONFIG_TELEMETRY_NOT_WRITTEN\]\ntelemetry is enabled, but this version of Dispenser does not write telemetry tables yet/);
  assert.match(r.stderr, /> {2}9 \| enabled = true/);
  assert.equal(r.code, 0);
});

test('--test warns of an ignored [telemetry] key and notes what numeric weekdays of a 6-field cron mean here, and still passes', async () => {
  const r = await runCli(['--test', '-c', 'dispenser.toml'], {}, { cwd: join(FIXTURES, 'valid-original-spellings') });
  assert.equal(r.stdout, 'Dispenser config is ok.\n');
  assert.match(r.stderr, /^warning: dispenser\.toml:9:1 \[CONFIG_IGNORED_KEY\]\nunknown key "status_intervals" in \[telemetry\] is ignored; did you mean "status_interval"\?/);
  assert.match(r.stderr, /\n\nnote: jobs\/service\.toml:10:8 \[CONFIG_CRON_WEEKDAYS\]\nthe weekday field "1-5" means Monday–Friday here.*"1-5" meant Sunday–Thursday/);
  assert.equal(r.code, 0);
});
