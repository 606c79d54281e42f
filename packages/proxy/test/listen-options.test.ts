import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listenOptions, nodeHasReusePort } from '../src/listen-options.js';

test('reusePort is known from Node 22.12 and 23.1 on', () => {
  const table: [string, boolean][] = [
    ['20.20.2', false],
    ['v22.11.0', false],
    ['22.12.0', true],
    ['23.0.0', false],
    ['23.1.0', true],
    ['24.21.0', true],
    ['v26.0.0', true],
  ];
  for (const [version, want] of table) assert.equal(nodeHasReusePort(version), want, version);
});

test('each cluster worker owns an SO_REUSEPORT socket only where that works', () => {
  const n24 = { clusterWorker: true, nodeVersion: '24.21.0', envToggle: undefined };
  const own = { port: 8080, host: '0.0.0.0', exclusive: true, reusePort: true };
  const shared = { port: 8080, host: '0.0.0.0' };
  assert.deepEqual(listenOptions(8080, '0.0.0.0', n24), own);
  assert.deepEqual(listenOptions(8080, '0.0.0.0', { ...n24, nodeVersion: '20.20.2' }), shared, 'older Node: the shared handle');
  assert.deepEqual(listenOptions(8080, '0.0.0.0', { ...n24, clusterWorker: false }), shared, 'a single process has nothing to share');
  assert.deepEqual(listenOptions(8080, '0.0.0.0', { ...n24, envToggle: '0' }), shared, 'DISPENSER_PROXY_REUSEPORT=0');
  assert.deepEqual(listenOptions(0, '0.0.0.0', n24), { port: 0, host: '0.0.0.0' }, 'port 0: one random port for all workers');
});
