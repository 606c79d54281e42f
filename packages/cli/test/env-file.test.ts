import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvFile } from '../src/env-file.js';
import { runCli, startDaemon } from '@dispenser/shared/testing/daemon';
import { fakeChildren, freePort, Workspace } from './helpers/workspace.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-envfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('.env of the config directory: its variables are added, those already set are kept', (t) => {
  const dir = tempDir(t);
  assert.equal(loadEnvFile(dir, {}), undefined, 'no .env: nothing');
  writeFileSync(join(dir, '.env'), '# credentials\nGOOGLE_APPLICATION_CREDENTIALS=/opt/dispenser/key.json\nTOKEN="a b#c"\nexport SHELL_STYLE=1\nPRESET=from-file\n');
  const env: NodeJS.ProcessEnv = { PRESET: 'from-env' };
  const loaded = loadEnvFile(dir, env);
  assert.deepEqual({ ...loaded, set: loaded?.set.sort() }, { file: join(dir, '.env'), set: ['GOOGLE_APPLICATION_CREDENTIALS', 'SHELL_STYLE', 'TOKEN'], kept: ['PRESET'] });
  assert.deepEqual(env, { PRESET: 'from-env', GOOGLE_APPLICATION_CREDENTIALS: '/opt/dispenser/key.json', TOKEN: 'a b#c', SHELL_STYLE: '1' });
});

test('an unreadable .env is an error with a code', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, '.env'));
  assert.throws(() => loadEnvFile(dir, {}), (err: { code?: string }) => err.code === 'ENV_FILE_UNREADABLE');
});

test('--test sees the variables of .env (a secret with source = "env")', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'dispenser.toml'), '');
  writeFileSync(join(dir, 'dispenser.vars'), 'token = { source = "env", name = "DISPENSER_TEST_PROBE" }\n');
  const without = await runCli(['-t', '-c', join(dir, 'dispenser.toml')]);
  assert.equal(without.code, 1);
  assert.match(without.stderr, /CONFIG_SECRET_UNAVAILABLE/);
  writeFileSync(join(dir, '.env'), 'DISPENSER_TEST_PROBE=s3cr3t-value\n');
  const withEnv = await runCli(['-t', '-c', join(dir, 'dispenser.toml')]);
  assert.equal(withEnv.stdout, 'Dispenser config is ok.\n', withEnv.stderr);
  assert.equal(withEnv.code, 0);
});

test('the daemon loads .env at start into the orchestrator\'s environment, not the proxy workers\', and never logs a value', async (t) => {
  const ws = new Workspace(t);
  ws.writeConfig({ port: await freePort(), workers: 1, tag: 'x' });
  writeFileSync(join(ws.dir, '.env'), 'DISPENSER_TEST_PROBE=s3cr3t-value\n');
  const cli = startDaemon(['-c', ws.configFile], fakeChildren, { t });
  await cli.waitForLog((l) => l.msg === 'dispenser ready');
  const started = await cli.waitForLog((l) => l.component === 'fake-orchestrator' && l.msg === 'started');
  assert.equal(started.probe, 's3cr3t-value');
  const worker = await cli.waitForLog((l) => l.component === 'fake-worker' && l.msg === 'started');
  assert.equal(worker.probe, null);
  const loaded = await cli.waitForLog((l) => Array.isArray(l.variables));
  assert.deepEqual(loaded.variables, ['DISPENSER_TEST_PROBE']);
  const supervisorLines = cli.lines.filter((l) => l.component !== 'fake-orchestrator' && l.component !== 'fake-worker');
  assert.ok(!JSON.stringify(supervisorLines).includes('s3cr3t-value'), 'the value is not logged');
  process.kill(cli.pid, 'SIGTERM');
  assert.equal(await cli.exited, 0);
});
