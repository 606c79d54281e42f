import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceFromEnv } from '@dispenser/shared/instance';
import { createMissingBindSources } from '../../src/reconcile/bind-sources.js';
import { desiredService } from '../../src/reconcile/desired.js';
import { service } from '@dispenser/shared/testing/config';

const spec = desiredService(
  service('web', {
    volumes: [
      { kind: 'bind', source: '/srv/web/data', target: '/data', readonly: false },
      { kind: 'bind', source: '/srv/web/config.yml', target: '/etc/app.yml', readonly: true },
      { kind: 'volume', source: 'cache', target: '/cache', readonly: false },
    ],
  }),
  instanceFromEnv({}),
).spec;

test('missing bind-mount sources are created as directories; existing ones and named volumes are left alone', async () => {
  const made: string[] = [];
  const created = await createMissingBindSources(spec, { exists: async (p) => p === '/srv/web/config.yml', mkdirp: async (p) => void made.push(p) });
  assert.deepEqual(created, ['/srv/web/data']);
  assert.deepEqual(made, ['/srv/web/data']);
});

test('a source that cannot be created fails with the path in the message', async () => {
  const fs = { exists: async () => false, mkdirp: async () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) };
  await assert.rejects(createMissingBindSources(spec, fs), /cannot create the missing \[\[volume\]\] source directory \/srv\/web\/data: EACCES/);
});
