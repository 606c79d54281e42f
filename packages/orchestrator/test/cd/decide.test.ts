import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterDeploy, decide, tagMissing, type Decision, type WatchMemory } from '../../src/cd/decide.js';

test('poll decisions: redeploy on a new digest, never twice for one that failed, baseline when the container has none', () => {
  const cases: [string, string, string | undefined, WatchMemory, Decision, WatchMemory][] = [
    ['unchanged', 'sha256:a', 'sha256:a', {}, { action: 'none' }, { lastSeen: 'sha256:a' }],
    ['new push', 'sha256:b', 'sha256:a', { lastSeen: 'sha256:a' }, { action: 'redeploy', from: 'sha256:a', to: 'sha256:b' }, { lastSeen: 'sha256:b' }],
    ['failed digest still current', 'sha256:b', 'sha256:a', { failedDigest: 'sha256:b' }, { action: 'skip-failed', digest: 'sha256:b' }, { failedDigest: 'sha256:b', lastSeen: 'sha256:b' }],
    ['newer push after a failure', 'sha256:c', 'sha256:a', { failedDigest: 'sha256:b' }, { action: 'redeploy', from: 'sha256:a', to: 'sha256:c' }, { lastSeen: 'sha256:c' }],
    ['tag moved back to the running image', 'sha256:a', 'sha256:a', { failedDigest: 'sha256:b' }, { action: 'none' }, { lastSeen: 'sha256:a' }],
    ['back to the failed one after another push', 'sha256:b', 'sha256:a', { lastSeen: 'sha256:c' }, { action: 'redeploy', from: 'sha256:a', to: 'sha256:b' }, { lastSeen: 'sha256:b' }],
    ['no running digest, first look', 'sha256:a', undefined, {}, { action: 'baseline', digest: 'sha256:a' }, { lastSeen: 'sha256:a' }],
    ['no running digest, unchanged', 'sha256:a', undefined, { lastSeen: 'sha256:a' }, { action: 'none' }, { lastSeen: 'sha256:a' }],
    ['no running digest, tag moved', 'sha256:b', undefined, { lastSeen: 'sha256:a' }, { action: 'redeploy', from: 'sha256:a', to: 'sha256:b' }, { lastSeen: 'sha256:b' }],
    ['no container, tag pushed for the first time', 'sha256:a', undefined, { missing: true }, { action: 'redeploy', from: undefined, to: 'sha256:a' }, { lastSeen: 'sha256:a' }],
    ['no container, tag deleted and pushed again unchanged', 'sha256:a', undefined, { lastSeen: 'sha256:a', missing: true }, { action: 'none' }, { lastSeen: 'sha256:a' }],
    ['no container, tag deleted and pushed as another image', 'sha256:b', undefined, { lastSeen: 'sha256:a', missing: true }, { action: 'redeploy', from: 'sha256:a', to: 'sha256:b' }, { lastSeen: 'sha256:b' }],
    ['running container, tag deleted and pushed again unchanged', 'sha256:a', 'sha256:a', { lastSeen: 'sha256:a', missing: true }, { action: 'none' }, { lastSeen: 'sha256:a' }],
    ['first push failed to deploy before', 'sha256:a', undefined, { failedDigest: 'sha256:a', missing: true }, { action: 'skip-failed', digest: 'sha256:a' }, { failedDigest: 'sha256:a', lastSeen: 'sha256:a' }],
  ];
  for (const [name, registry, running, memory, decision, next] of cases) {
    assert.deepEqual(decide(registry, running, memory), { decision, memory: next }, name);
  }
});

test('a tag the registry does not have (404) is remembered until it appears', () => {
  assert.deepEqual(tagMissing({ lastSeen: 'sha256:a' }), { lastSeen: 'sha256:a', missing: true });
});

test('a failed deploy is remembered, a successful one clears the failure', () => {
  assert.deepEqual(afterDeploy({ lastSeen: 'sha256:a' }, 'sha256:b', false), { lastSeen: 'sha256:b', failedDigest: 'sha256:b' });
  assert.deepEqual(afterDeploy({ failedDigest: 'sha256:b' }, 'sha256:c', true), { lastSeen: 'sha256:c' });
});
