import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullAuthSource } from '../../src/docker/pull-auth.js';
import { DockerCredentials } from '../../src/registry/credentials.js';

test('pull credentials come from $DOCKER_CONFIG/config.json for the image registry', async () => {
  const pullAuthFor = (image: string, env: { DOCKER_CONFIG: string }) => pullAuthSource(new DockerCredentials({ configDir: env.DOCKER_CONFIG }))(image);
  const dir = mkdtempSync(join(tmpdir(), 'dockercfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.test:5000': { auth: Buffer.from('alice:s3cret').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('bob:pw').toString('base64') } } }));
  assert.deepEqual(await pullAuthFor('registry.test:5000/team/app:1', { DOCKER_CONFIG: dir }), { username: 'alice', password: 's3cret', serveraddress: 'registry.test:5000' });
  assert.equal((await pullAuthFor('nginx:1', { DOCKER_CONFIG: dir }))?.username, 'bob');
  assert.equal(await pullAuthFor('other.test/app', { DOCKER_CONFIG: dir }), undefined);
  assert.equal(await pullAuthFor('x/y', { DOCKER_CONFIG: join(dir, 'missing') }), undefined);
});
