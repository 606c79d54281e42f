import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutesSnapshot } from '@dispenser/shared/ipc/messages';
import { SnapshotCache } from '../../src/supervisor/snapshot-cache.js';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';

const routes = (version: number, host: string): RoutesSnapshot => ({
  type: 'routes',
  version,
  routes: [{ service: 'web', host, path: '/', upstream: { host: '127.0.0.1', port: 80 } }],
});

test('snapshots get versions that keep growing across orchestrator restarts', () => {
  const cache = new SnapshotCache();
  cache.newIncarnation();
  assert.equal(cache.accept(routes(1, 'a'))?.version, 1);
  assert.equal(cache.accept(routes(2, 'b'))?.version, 2);
  // the restarted orchestrator counts from 1 again; workers must still take it
  cache.newIncarnation();
  const fresh = cache.accept(routes(1, 'c'));
  assert.equal(fresh?.version, 3);
  assert.deepEqual(cache.get('routes'), { ...routes(1, 'c'), version: 3 });
});

test('an older snapshot from the same orchestrator is dropped', () => {
  const cache = new SnapshotCache();
  cache.accept(routes(5, 'new'));
  assert.equal(cache.accept(routes(4, 'old')), undefined);
  assert.equal((cache.get('routes') as RoutesSnapshot).routes[0]!.host, 'new');
});

test('applied is translated back to the orchestrator numbering, once', () => {
  const cache = new SnapshotCache();
  cache.accept(routes(10, 'a')); // local 1
  cache.accept(routes(11, 'b')); // local 2
  assert.equal(cache.orchestratorVersionApplied('routes', 1), 10);
  assert.equal(cache.orchestratorVersionApplied('routes', 1), undefined);
  assert.equal(cache.orchestratorVersionApplied('routes', 2), 11);
});

test('applied for a previous orchestrator is not reported to the new one', () => {
  const cache = new SnapshotCache();
  cache.accept(routes(7, 'a')); // local 1
  cache.newIncarnation();
  assert.equal(cache.orchestratorVersionApplied('routes', 1), undefined);
  cache.accept(routes(1, 'b')); // local 2
  assert.equal(cache.orchestratorVersionApplied('routes', 2), 1);
});

test('a starting worker gets proxy settings last: it opens its listeners already holding the routes', () => {
  const cache = new SnapshotCache();
  cache.accept(routes(1, 'a'));
  cache.accept({ type: 'challenges', version: 1, tokens: {} });
  cache.accept({
    type: 'proxy-settings',
    version: 1,
    settings: testProxySettings({ workers: 2 }),
  });
  assert.deepEqual(cache.all().map((s) => s.type), ['challenges', 'routes', 'proxy-settings']);
});
