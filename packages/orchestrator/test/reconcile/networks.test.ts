import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceFromEnv } from '@dispenser/shared/instance';
import { declaredNetworkSpec, instanceNetworkSpec } from '../../src/reconcile/networks.js';

test('network specs: the default instance owns 172.28.0.0/16, others let the engine choose', () => {
  const def = instanceNetworkSpec(instanceFromEnv({}));
  assert.equal(def.Name, 'dispenser');
  assert.deepEqual(def.IPAM, { Driver: 'default', Config: [{ Subnet: '172.28.0.0/16', Gateway: '172.28.0.1' }] });
  assert.deepEqual(def.Labels, { 'dispenser.managed': 'true', 'dispenser.instance': 'default' });
  const other = instanceNetworkSpec(instanceFromEnv({ DISPENSER_INSTANCE: 'ci' }));
  assert.equal(other.Name, 'dispenser-ci');
  assert.equal(other.IPAM, undefined);
  const declared = declaredNetworkSpec({ name: 'backend', driver: 'bridge', external: false, internal: true, attachable: false, labels: { team: 'a' } }, instanceFromEnv({}));
  assert.deepEqual(
    { Driver: declared.Driver, Internal: declared.Internal, Attachable: declared.Attachable, team: declared.Labels?.team, managed: declared.Labels?.['dispenser.managed'] },
    { Driver: 'bridge', Internal: true, Attachable: false, team: 'a', managed: 'true' },
  );
});
