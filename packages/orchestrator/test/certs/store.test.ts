import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { CertStore } from '../../src/certs/store.js';
import { tempStateDir } from './helpers.js';

async function pair(host: string) {
  const p = await generate([{ name: 'commonName', value: host }], { keyType: 'ec', algorithm: 'sha256' });
  return { certPem: p.cert, keyPem: p.private };
}

test('CertStore: private key 0600 in a 0700 directory, atomic replace, torn pairs ignored', async (t) => {
  const root = join(await tempStateDir(t), 'certs');
  const store = new CertStore(root);
  const host = 'store.example.com';
  assert.equal(await store.load(host), undefined);

  const one = await pair(host);
  await store.save(host, one);
  assert.deepEqual(await store.load(host), one);
  assert.equal((await stat(join(root, host, 'privkey.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(root, host))).mode & 0o777, 0o700);

  const two = await pair(host);
  await store.save(host, two);
  assert.deepEqual(await store.load(host), two);
  assert.deepEqual((await readdir(join(root, host))).sort(), ['fullchain.pem', 'privkey.pem'], 'no temporary files left behind');

  // A crash between the key and the chain rename leaves a key that does not match: not served.
  await writeFile(join(root, host, 'privkey.pem'), one.keyPem);
  assert.equal(await store.load(host), undefined);

  assert.throws(() => store.dir('../etc'), /not a storable host name/);
});
