import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { runCli } from './helpers/daemon.js';

const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function removeByLabel(label: string): void {
  const ids = docker('ps', '-aq', '--filter', `label=${label}`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', ...ids);
  const nets = docker('network', 'ls', '-q', '--filter', `label=${label}`).split('\n').filter(Boolean);
  if (nets.length) docker('network', 'rm', ...nets);
}

test('dispenser down names the network it cannot remove with its code and what to do, exit 1', async (t) => {
  const instance = `clierr${randomBytes(4).toString('hex')}`;
  const testLabel = `dispenser.test=cli-${instance}`;
  t.after(() => removeByLabel(testLabel));
  const network = `dispenser-${instance}`;
  // a network of this instance, still used by a container Dispenser does not manage
  docker('network', 'create', '--label', 'dispenser.managed=true', '--label', `dispenser.instance=${instance}`, '--label', testLabel, network);
  docker('run', '-d', '--label', testLabel, '--network', network, process.env.DISPENSER_TEST_BASE_IMAGE ?? 'busybox', 'sleep', '300');

  const r = await runCli(['down'], { DISPENSER_INSTANCE: instance });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, new RegExp(`^dispenser: cannot remove network ${network} \\(still used by a container Dispenser does not manage\\?\\): .+ \\[NETWORK_REMOVE_FAILED\\]$`));
  assert.equal(lines[1], `  disconnect the containers that still use it (docker network inspect ${network}), then run \`dispenser down\` again`);
});
