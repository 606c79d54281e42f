import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInfo } from '../../src/docker/engine.js';
import { conditionState, servicesInCycles } from '../../src/reconcile/dependencies.js';
import { containerInfo as info } from '../helpers/fakes.js';

const started = '2026-01-01T00:00:00Z';
const conditionCases: Array<[string, ContainerInfo | undefined, 'started' | 'completed' | 'healthy', string]> = [
  ['no container yet', undefined, 'started', 'pending'],
  ['created, never started', info({}), 'started', 'pending'],
  ['running', info({ Running: true, StartedAt: started }), 'started', 'met'],
  ['ran and exited counts as started', info({ StartedAt: started, ExitCode: 1 }), 'started', 'met'],
  ['still running is not completed', info({ Running: true, StartedAt: started }), 'completed', 'pending'],
  ['exited 0 is completed', info({ StartedAt: started, ExitCode: 0 }), 'completed', 'met'],
  ['exited 3 can never complete', info({ StartedAt: started, ExitCode: 3 }), 'completed', 'failed'],
  ['no health check: healthy once running', info({ Running: true, StartedAt: started }), 'healthy', 'met'],
  ['health starting', info({ Running: true, StartedAt: started, Health: { Status: 'starting' } }), 'healthy', 'pending'],
  ['health healthy', info({ Running: true, StartedAt: started, Health: { Status: 'healthy' } }), 'healthy', 'met'],
];
for (const [name, i, cond, want] of conditionCases) {
  test(`depends_on ${cond}: ${name} → ${want}`, () => assert.equal(conditionState(i, cond), want));
}

test('depends_on cycles are found (and only the services in them)', () => {
  const graph = new Map<string, string[]>([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
    ['e', ['e']],
    ['f', ['missing']],
  ]);
  assert.deepEqual([...servicesInCycles(graph)].sort(), ['a', 'b', 'c', 'e']);
  assert.deepEqual([...servicesInCycles(new Map([['x', ['y']], ['y', []]]))], []);
});
