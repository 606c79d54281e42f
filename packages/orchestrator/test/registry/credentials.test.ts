import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerCredentials, credentialsFromAuthEntry, planCredentialLookup } from '../../src/registry/credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('credential lookup follows docker: credHelpers, then credsStore, then auths', () => {
  const config = {
    auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') }, 'http://reg.example.com:5000': { auth: b64('u:p') }, 'ghcr.io': {} },
    credHelpers: { 'gcr.io': 'gcloud' },
  };
  assert.deepEqual(planCredentialLookup(config, 'gcr.io'), { via: 'helper', helper: 'gcloud', serverUrl: 'gcr.io' });
  assert.deepEqual(planCredentialLookup(config, 'docker.io'), { via: 'file', entry: { auth: b64('hub:pw') } });
  assert.deepEqual(planCredentialLookup(config, 'reg.example.com:5000'), { via: 'file', entry: { auth: b64('u:p') } });
  assert.deepEqual(planCredentialLookup(config, 'quay.io'), { via: 'none' });
  const store = { ...config, credsStore: 'desktop' };
  assert.deepEqual(planCredentialLookup(store, 'docker.io'), { via: 'helper', helper: 'desktop', serverUrl: 'https://index.docker.io/v1/' });
  assert.deepEqual(planCredentialLookup(store, 'gcr.io'), { via: 'helper', helper: 'gcloud', serverUrl: 'gcr.io' });
});

test('auths entries decode to a password or an identity token', () => {
  assert.deepEqual(credentialsFromAuthEntry({ auth: b64('me:pa:ss') }), { kind: 'basic', username: 'me', password: 'pa:ss' });
  assert.deepEqual(credentialsFromAuthEntry({ username: 'me', password: 'x' }), { kind: 'basic', username: 'me', password: 'x' });
  assert.deepEqual(credentialsFromAuthEntry({ auth: b64('me:'), identitytoken: 'rt' }), { kind: 'identity-token', username: 'me', token: 'rt' });
  assert.equal(credentialsFromAuthEntry({}), undefined);
  assert.throws(() => credentialsFromAuthEntry({ auth: b64('nocolon') }), /base64 of user:password/);
});

test('DockerCredentials reads $DOCKER_CONFIG/config.json, and treats a missing file as anonymous', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cd-creds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await new DockerCredentials({ env: { DOCKER_CONFIG: dir } }).get('ghcr.io'), undefined);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('a:b') } } }));
  assert.deepEqual(await new DockerCredentials({ env: { DOCKER_CONFIG: dir } }).get('ghcr.io'), { kind: 'basic', username: 'a', password: 'b' });
  await writeFile(join(dir, 'config.json'), '{not json');
  await assert.rejects(new DockerCredentials({ configDir: dir }).get('ghcr.io'), { code: 'REGISTRY_CREDENTIALS_INVALID' });
});
