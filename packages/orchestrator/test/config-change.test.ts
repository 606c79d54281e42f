import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxySettings } from '@dispenser/shared/config/types';
import { restartRequired } from '../src/config-change.js';
import { config } from './fixtures.js';

test('restartRequired names only what the running processes cannot change in place', () => {
  const cases: Array<{ change: Partial<ProxySettings>; expected: string[] }> = [
    { change: {}, expected: [] },
    { change: { enabled: false }, expected: ['proxy.enabled'] },
    { change: { workers: 3 }, expected: ['proxy.workers'] },
    { change: { enabled: false, workers: 4 }, expected: ['proxy.enabled', 'proxy.workers'] },
    // the workers re-listen on new proxy settings: these take effect at once
    { change: { httpPort: 8080 }, expected: [] },
    { change: { httpsPort: 8443 }, expected: [] },
    { change: { bind: '127.0.0.1' }, expected: [] },
    { change: { strategy: 'both' }, expected: [] },
    { change: { shutdownTimeoutMs: 1000, accessLog: true }, expected: [] },
  ];
  const before = config([]);
  for (const { change, expected } of cases) {
    const after = config([], { proxy: { ...before.proxy, ...change } });
    assert.deepEqual(restartRequired(before, after), expected, JSON.stringify(change));
  }
});
