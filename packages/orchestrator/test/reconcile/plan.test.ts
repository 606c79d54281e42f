import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceFromEnv, LABELS } from '@dispenser/shared/instance';
import { desiredService } from '../../src/reconcile/desired.js';
import { plan, type Action, type ObservedContainer } from '../../src/reconcile/plan.js';
import { service } from '@dispenser/shared/testing/config';

const instance = instanceFromEnv({});
const web = desiredService(service('web'), instance);
const proxiedWeb = desiredService(service('web', { proxy: { host: 'web.test', path: '/', servicePort: 8080, healthIntervalMs: 1, healthTimeoutMs: 1, deployTimeoutMs: 1, drainTimeoutMs: 1 } }), instance);
const job = desiredService(service('job', { dispenser: { watch: false, initialize: 'on-trigger', pull: 'always', strategy: 'recreate' } }), instance);

function managed(name: string, svc: string, hash: string, state = 'running', inst = 'default'): ObservedContainer {
  return { id: `id-${name}`, name, state, labels: { [LABELS.managed]: 'true', [LABELS.instance]: inst, [LABELS.service]: svc, [LABELS.configHash]: hash } };
}

const cases: Array<{ name: string; desired: typeof web[]; observed: ObservedContainer[]; mode?: 'startup' | 'reload'; partial?: boolean; want: Action[] }> = [
  { name: 'nothing exists: create', desired: [web], observed: [], want: [{ kind: 'create', service: 'web' }] },
  { name: 'same hash, running: adopt (no restart)', desired: [web], observed: [managed('web', 'web', web.hash)], want: [{ kind: 'adopt', service: 'web', containerId: 'id-web' }] },
  { name: 'same hash, exited, startup: start it', desired: [web], observed: [managed('web', 'web', web.hash, 'exited')], want: [{ kind: 'start', service: 'web', containerId: 'id-web' }] },
  { name: 'same hash, exited 3, reload: start it (a dead service is not "adopted")', desired: [web], observed: [{ ...managed('web', 'web', web.hash, 'exited'), exitCode: 3 }], mode: 'reload', want: [{ kind: 'start', service: 'web', containerId: 'id-web' }] },
  { name: 'same hash, non-proxied, exited 0, reload: a completed job is left alone', desired: [web], observed: [{ ...managed('web', 'web', web.hash, 'exited'), exitCode: 0 }], mode: 'reload', want: [{ kind: 'adopt', service: 'web', containerId: 'id-web' }] },
  { name: 'same hash, proxied, exited 0, reload: start it (a server never completes)', desired: [proxiedWeb], observed: [{ ...managed('web', 'web', proxiedWeb.hash, 'exited'), exitCode: 0 }], mode: 'reload', want: [{ kind: 'start', service: 'web', containerId: 'id-web' }] },
  { name: 'restarting (Docker restart policy at work): adopt, never started over it', desired: [web], observed: [managed('web', 'web', web.hash, 'restarting')], mode: 'reload', want: [{ kind: 'adopt', service: 'web', containerId: 'id-web' }] },
  { name: 'hash changed: recreate', desired: [web], observed: [managed('web', 'web', 'old')], want: [{ kind: 'recreate', service: 'web', containerId: 'id-web' }] },
  {
    name: 'service no longer declared: remove',
    desired: [web],
    observed: [managed('web', 'web', web.hash), managed('gone', 'gone', 'x')],
    want: [
      { kind: 'remove', containerId: 'id-gone', name: 'gone', service: 'gone', reason: 'undeclared' },
      { kind: 'adopt', service: 'web', containerId: 'id-web' },
    ],
  },
  {
    name: 'dev mode (only some services loaded): the others are left alone, stale copies still go',
    desired: [web],
    observed: [managed('web', 'web', web.hash), managed('gone', 'gone', 'x'), managed('web-old', 'web', 'x', 'exited')],
    partial: true,
    want: [
      { kind: 'remove', containerId: 'id-web-old', name: 'web-old', service: 'web', reason: 'stale' },
      { kind: 'adopt', service: 'web', containerId: 'id-web' },
    ],
  },
  {
    name: 'same name without labels: conflict, left alone',
    desired: [web],
    observed: [{ id: 'foreign', name: 'web', state: 'running', labels: {} }],
    want: [{ kind: 'conflict', service: 'web', containerId: 'foreign', name: 'web' }],
  },
  {
    name: 'same name on another network without labels: conflict, left alone',
    desired: [web],
    observed: [{ id: 'foreign', name: 'web', state: 'running', labels: {}, networks: ['bridge'] }],
    want: [{ kind: 'conflict', service: 'web', containerId: 'foreign', name: 'web' }],
  },
  {
    name: "same name without labels on the original Dispenser's network: taken over",
    desired: [web],
    observed: [{ id: 'original', name: 'web', state: 'running', labels: {}, networks: ['dispenser', 'backend'] }],
    want: [{ kind: 'takeover', service: 'web', containerId: 'original', name: 'web' }],
  },
  {
    name: "another instance's container on the dispenser network: still a conflict",
    desired: [web],
    observed: [{ ...managed('web', 'web', web.hash, 'running', 'other'), networks: ['dispenser'] }],
    want: [{ kind: 'conflict', service: 'web', containerId: 'id-web', name: 'web' }],
  },
  {
    name: 'same name managed by another instance: conflict',
    desired: [web],
    observed: [managed('web', 'web', web.hash, 'running', 'other')],
    want: [{ kind: 'conflict', service: 'web', containerId: 'id-web', name: 'web' }],
  },
  {
    name: 'crash mid-rollout, both containers left: the unfinished candidate is removed, the old one keeps serving (and is rolled out again)',
    desired: [web],
    observed: [managed('web', 'web', 'old'), managed('web-rollout-a1b2c3', 'web', web.hash)],
    want: [
      { kind: 'remove', containerId: 'id-web-rollout-a1b2c3', name: 'web-rollout-a1b2c3', service: 'web', reason: 'stale' },
      { kind: 'recreate', service: 'web', containerId: 'id-web' },
    ],
  },
  {
    name: 'crash mid-rollout after the old container was removed: the running candidate gets the name back and is adopted',
    desired: [web],
    observed: [managed('web-rollout-a1b2c3', 'web', web.hash)],
    want: [
      { kind: 'rename', service: 'web', containerId: 'id-web-rollout-a1b2c3', from: 'web-rollout-a1b2c3', to: 'web' },
      { kind: 'adopt', service: 'web', containerId: 'id-web-rollout-a1b2c3' },
    ],
  },
  {
    name: 'a stopped stray copy is not rescued: removed, and the service created',
    desired: [web],
    observed: [managed('web-old-1234', 'web', 'old', 'exited')],
    want: [
      { kind: 'remove', containerId: 'id-web-old-1234', name: 'web-old-1234', service: 'web', reason: 'stale' },
      { kind: 'create', service: 'web' },
    ],
  },
  {
    name: 'a managed copy of a declared service under another name: stale, removed',
    desired: [web],
    observed: [managed('web', 'web', web.hash), managed('web-old-1234', 'web', 'old', 'exited')],
    want: [
      { kind: 'remove', containerId: 'id-web-old-1234', name: 'web-old-1234', service: 'web', reason: 'stale' },
      { kind: 'adopt', service: 'web', containerId: 'id-web' },
    ],
  },
  { name: 'on-trigger without container: wait for the trigger', desired: [job], observed: [], want: [{ kind: 'await-trigger', service: 'job' }] },
  { name: 'on-trigger exited with same hash: adopted, not started', desired: [job], observed: [managed('job', 'job', job.hash, 'exited')], want: [{ kind: 'adopt', service: 'job', containerId: 'id-job' }] },
  {
    name: 'on-trigger exited with a changed config: old container removed',
    desired: [job],
    observed: [managed('job', 'job', 'old', 'exited')],
    want: [{ kind: 'remove', containerId: 'id-job', name: 'job', service: 'job', reason: 'stale' }],
  },
  { name: 'on-trigger running with a changed config: recreated', desired: [job], observed: [managed('job', 'job', 'old')], want: [{ kind: 'recreate', service: 'job', containerId: 'id-job' }] },
  {
    name: "another instance's containers are not ours to remove",
    desired: [],
    observed: [managed('x', 'x', 'h', 'running', 'other'), { id: 'plain', name: 'plain', state: 'running', labels: {} }],
    want: [],
  },
];

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    assert.deepEqual(plan({ desired: c.desired, observed: c.observed, instance: 'default', mode: c.mode ?? 'startup', partial: c.partial ?? false }), c.want);
  });
}
