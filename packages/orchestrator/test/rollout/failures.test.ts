import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailureStore, sameAsFailed, type FailedRollout } from '../../src/rollout/failures.js';

const failed: FailedRollout = { hash: 'h1', imageId: 'sha256:img1', digest: 'sha256:dig1', code: 'ROLLOUT_UNHEALTHY', at: '2026-11-24T20:00:00.000Z' };

test('the same attempt: same config hash and the same image by id or registry digest', () => {
  const cases: Array<[string, Parameters<typeof sameAsFailed>[1], boolean]> = [
    ['identical', { hash: 'h1', imageId: 'sha256:img1', digest: 'sha256:dig1' }, true],
    ['same digest, image re-pulled under another id', { hash: 'h1', imageId: 'sha256:other', digest: 'sha256:dig1' }, true],
    ['same local image, no digest', { hash: 'h1', imageId: 'sha256:img1', digest: undefined }, true],
    ['new image behind the tag', { hash: 'h1', imageId: 'sha256:img2', digest: 'sha256:dig2' }, false],
    ['config changed', { hash: 'h2', imageId: 'sha256:img1', digest: 'sha256:dig1' }, false],
  ];
  for (const [name, attempt, want] of cases) assert.equal(sameAsFailed(failed, attempt), want, name);
  assert.equal(sameAsFailed(undefined, { hash: 'h1', imageId: 'x', digest: undefined }), false);
});

test('failures survive a new store on the same file (a restart); clearing one rewrites the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-failures-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state', 'rollout-failures.json');
  const a = new FailureStore(file);
  await a.set('web', failed);
  await a.set('api', { ...failed, hash: 'h9' });
  const b = new FailureStore(file);
  assert.deepEqual(await b.get('web'), failed);
  await b.delete('web');
  assert.equal(await new FailureStore(file).get('web'), undefined);
  assert.equal((await new FailureStore(file).get('api'))?.hash, 'h9');
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))), ['api']);
});

test('an unreadable or corrupt file counts as no failures', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-failures-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await new FailureStore(join(dir, 'missing.json')).get('web'), undefined);
  const corrupt = join(dir, 'corrupt.json');
  writeFileSync(corrupt, '{not json');
  const errors: unknown[] = [];
  const store = new FailureStore(corrupt, (e) => errors.push(e));
  assert.equal(await store.get('web'), undefined);
  await store.set('web', failed);
  assert.deepEqual(await new FailureStore(corrupt).get('web'), failed);
});
