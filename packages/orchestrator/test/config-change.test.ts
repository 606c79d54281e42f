import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DispenserConfig } from '@dispenser/shared/config/types';
import { restartRequired } from '../src/config-change.js';

const proxy = { enabled: true, httpPort: 80, httpsPort: 443, bind: '0.0.0.0', workers: 2 };
const config = (p: Partial<typeof proxy>): DispenserConfig => ({ proxy: { ...proxy, ...p } }) as unknown as DispenserConfig;

test('restartRequired: only what running processes cannot change (ports and bind move live)', () => {
  const cases: [string, Partial<typeof proxy>, string[]][] = [
    ['nothing changed', {}, []],
    ['proxy turned off', { enabled: false }, ['proxy.enabled']],
    ['worker count', { workers: 4 }, ['proxy.workers']],
    ['http_port moves the listener live', { httpPort: 8080 }, []],
    ['https_port moves the listener live', { httpsPort: 8443 }, []],
    ['bind moves the listeners live', { bind: '127.0.0.1' }, []],
    ['both restart-only settings', { enabled: false, workers: 1 }, ['proxy.enabled', 'proxy.workers']],
  ];
  for (const [name, change, expected] of cases) assert.deepEqual(restartRequired(config({}), config(change)), expected, name);
});
