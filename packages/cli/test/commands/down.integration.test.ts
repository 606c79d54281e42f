import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { infra } from '@dispenser/shared/testing/infra';
import { runCli } from '@dispenser/shared/testing/daemon';
import { docker, removeLabelled } from '@dispenser/shared/testing/docker';

test('dispenser down names the network it cannot remove with its code and what to do, exit 1', async (t) => {
  const env = infra(t, 'docker');
  if (!env) return;
  const instance = `clierr${randomBytes(4).toString('hex')}`;
  const testLabel = `dispenser.test=cli-${instance}`;
  t.after(() => removeLabelled(testLabel));
  const network = `dispenser-${instance}`;
  // a network of this instance, still used by a container Dispenser does not manage
  docker('network', 'create', '--label', 'dispenser.managed=true', '--label', `dispenser.instance=${instance}`, '--label', testLabel, network);
  docker('run', '-d', '--label', testLabel, '--network', network, env.baseImage, 'sleep', '300');

  const r = await runCli(['down'], { DISPENSER_INSTANCE: instance });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, new RegExp(`^dispenser: cannot remove network ${network} \\(still used by a container Dispenser does not manage\\?\\): .+ \\[NETWORK_REMOVE_FAILED\\]$`));
  assert.equal(lines[1], `  disconnect the containers that still use it (docker network inspect ${network}), then run \`dispenser down\` again`);
});
