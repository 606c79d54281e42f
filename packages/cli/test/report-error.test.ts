import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { down } from '@dispenser/orchestrator/down';
import type { ContainerEngine } from '@dispenser/orchestrator/docker/engine';
import { instanceFromEnv } from '@dispenser/shared/instance';
import { formatError } from '../src/report-error.js';
import { runCli } from '@dispenser/shared/testing/daemon';
import { Workspace } from './helpers/workspace.js';

/** stderr as lines, without the trailing empty one */
const lines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '');

test('dispenser down without a reachable Docker prints the code and what to do, exit 1', async () => {
  const r = await runCli(['down'], { DOCKER_HOST: 'unix:///nonexistent/dispenser-test/docker.sock' });
  assert.equal(r.code, 1);
  const [first, hint, ...rest] = lines(r.stderr);
  assert.match(first ?? '', /^dispenser: cannot reach the Docker daemon: .* \[DOCKER_UNAVAILABLE\]$/);
  assert.equal(hint, '  is dockerd running, and may this user use its socket (docker group)? Then run `dispenser down` again');
  assert.deepEqual(rest, []);
});

test('a container or network dispenser down cannot remove is reported with its code and what to do', async () => {
  const refused = (what: string): Error => Object.assign(new Error(`(HTTP code 409) unexpected - ${what} is in use`), { statusCode: 409 });
  const engine = {
    listContainers: async () => [{ id: 'c1', name: 'web', labels: {}, state: 'running' }],
    stopContainer: async () => {},
    removeContainer: async () => Promise.reject(refused('container web')),
    listNetworks: async () => [{ id: 'n1', name: 'dispenser' }],
    removeNetwork: async () => Promise.reject(refused('network dispenser')),
  } as unknown as ContainerEngine;
  const result = await down(engine, instanceFromEnv({}), { stopTimeoutS: 0 });
  assert.deepEqual(
    result.failures.map((f) => formatError(f)),
    [
      ['dispenser: cannot remove container web: container web is in use [CONTAINER_REMOVE_FAILED]', '  see `docker ps -a`, then run `dispenser down` again'],
      [
        'dispenser: cannot remove network dispenser (still used by a container Dispenser does not manage?): network dispenser is in use [NETWORK_REMOVE_FAILED]',
        '  disconnect the containers that still use it (docker network inspect dispenser), then run `dispenser down` again',
      ],
    ],
  );
});

test('a pid file that cannot be read is reported with its code and what to do', async (t) => {
  const ws = new Workspace(t);
  const dir = join(ws.dir, 'pid-is-a-directory');
  mkdirSync(dir);
  const r = await runCli(['-s', 'reload', '-p', dir]);
  assert.equal(r.code, 1);
  assert.deepEqual(lines(r.stderr).map((l) => l.replace(/: EISDIR.*\[/, ': … [')), [
    `dispenser: cannot read pid file ${dir}: … [PID_FILE_UNREADABLE]`,
    '  let the user running dispenser read it, or choose another -p/--pid-file',
  ]);
});
