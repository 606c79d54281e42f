import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceFromEnv, LABELS } from '@dispenser/shared/instance';
import { containerNameFor, desiredService } from '../../src/reconcile/desired.js';
import { configHash } from '../../src/reconcile/hash.js';
import { service } from '@dispenser/shared/testing/config';

const instance = instanceFromEnv({});

test('every service field lands in the container spec', () => {
  const d = desiredService(
    service('api', {
      image: 'registry.test/api:2',
      command: ['sh', '-c', 'echo hi'],
      entrypoint: ['/bin/tini', '--'],
      workingDir: '/srv',
      user: '1000:1000',
      hostname: 'api-host',
      memoryBytes: 64 * 1024 * 1024,
      nanoCpus: 500_000_000,
      restart: 'unless-stopped',
      ports: [{ host: 8080, container: 80 }],
      volumes: [
        { kind: 'bind', source: '/srv/api/data', target: '/data', readonly: true },
        { kind: 'volume', source: 'api-cache', target: '/cache', readonly: false },
      ],
      env: { B: '2', A: '1' },
      networks: ['backend'],
      extraHosts: [{ hostname: 'db.local', ipv4: '10.0.0.5' }],
      healthcheck: { test: ['CMD', 'true'], intervalMs: 5000, timeoutMs: 2000, startPeriodMs: 1000, retries: 3 },
    }),
    instance,
  );
  const s = d.spec;
  assert.equal(s.name, 'api');
  assert.equal(s.Image, 'registry.test/api:2');
  assert.deepEqual(s.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(s.Entrypoint, ['/bin/tini', '--']);
  assert.equal(s.WorkingDir, '/srv');
  assert.equal(s.User, '1000:1000');
  assert.equal(s.Hostname, 'api-host');
  assert.deepEqual(s.Env, ['A=1', 'B=2']);
  assert.deepEqual(s.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(s.Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 3 });
  const h = s.HostConfig!;
  assert.equal(h.Memory, 67108864);
  assert.equal(h.NanoCpus, 500_000_000);
  assert.deepEqual(h.RestartPolicy, { Name: 'unless-stopped' });
  assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostPort: '8080' }] });
  assert.deepEqual(h.Mounts, [
    { Type: 'bind', Source: '/srv/api/data', Target: '/data', ReadOnly: true },
    { Type: 'volume', Source: 'api-cache', Target: '/cache', ReadOnly: false },
  ]);
  assert.deepEqual(h.ExtraHosts, ['host.docker.internal:host-gateway', 'db.local:10.0.0.5']);
  assert.equal(h.NetworkMode, 'dispenser');
  assert.deepEqual(s.NetworkingConfig, { EndpointsConfig: { dispenser: { Aliases: ['api'] } } });
  assert.deepEqual(d.networks, [
    { name: 'dispenser', aliases: ['api'] },
    { name: 'backend', aliases: ['api'] },
  ]);
  assert.equal(s.Labels?.[LABELS.managed], 'true');
  assert.equal(s.Labels?.[LABELS.service], 'api');
  assert.equal(s.Labels?.[LABELS.instance], 'default');
  assert.equal(s.Labels?.[LABELS.configHash], d.hash);
});

test('the config hash is stable and follows every change that matters', () => {
  const a = desiredService(service('web', { env: { A: '1', B: '2' } }), instance);
  const b = desiredService(service('web', { env: { B: '2', A: '1' } }), instance);
  assert.equal(a.hash, b.hash, 'key order does not change the hash');
  const changes = [
    service('web', { env: { A: '1', B: '3' } }),
    service('web', { env: { A: '1', B: '2' }, image: 'example/app:2' }),
    service('web', { env: { A: '1', B: '2' }, ports: [{ host: 1, container: 2 }] }),
    service('web', { env: { A: '1', B: '2' }, networks: ['other'] }),
  ];
  for (const c of changes) assert.notEqual(desiredService(c, instance).hash, a.hash);
  // what does not shape the container does not force a recreate
  const proxied = desiredService(service('web', { env: { A: '1', B: '2' }, dispenser: { watch: true, initialize: 'immediately', pull: 'always', strategy: 'rollout' } }), instance);
  assert.equal(proxied.hash, a.hash);
});

test('a non-default instance uses its own network and prefixed container names', () => {
  const other = instanceFromEnv({ DISPENSER_INSTANCE: 'ci-1' });
  const d = desiredService(service('web'), other);
  assert.equal(d.containerName, containerNameFor(other, 'web'));
  assert.equal(d.containerName, 'ci-1-web');
  assert.equal(d.spec.HostConfig?.NetworkMode, 'dispenser-ci-1');
  assert.equal(d.spec.Labels?.[LABELS.instance], 'ci-1');
});

test('host.docker.internal: on by default, off with host_docker_internal = false, replaced by an [[extra_host]] of that name', () => {
  assert.deepEqual(desiredService(service('web'), instance).spec.HostConfig?.ExtraHosts, ['host.docker.internal:host-gateway']);
  assert.equal(desiredService(service('web', { hostDockerInternal: false }), instance).spec.HostConfig?.ExtraHosts, undefined);
  assert.deepEqual(desiredService(service('web', { hostDockerInternal: false, extraHosts: [{ hostname: 'db', ipv4: '10.0.0.5' }] }), instance).spec.HostConfig?.ExtraHosts, ['db:10.0.0.5']);
  assert.deepEqual(desiredService(service('web', { extraHosts: [{ hostname: 'host.docker.internal', ipv4: '10.0.0.1' }] }), instance).spec.HostConfig?.ExtraHosts, ['host.docker.internal:10.0.0.1']);
});

test('host.docker.internal added by default does not change the config hash: an upgrade adopts existing containers', () => {
  const on = desiredService(service('web'), instance);
  const off = desiredService(service('web', { hostDockerInternal: false }), instance);
  // what the hash of a container made before the entry existed was: the same spec without it
  // (the spec as hashed: before the ownership labels are added, without the entry)
  const ownership = new Set<string>([LABELS.managed, LABELS.instance, LABELS.service, LABELS.configHash]);
  const labels = Object.fromEntries(Object.entries(on.spec.Labels ?? {}).filter(([k]) => !ownership.has(k)));
  const before = configHash({ spec: { ...on.spec, Labels: labels, HostConfig: { ...on.spec.HostConfig, ExtraHosts: undefined } }, networks: on.networks });
  assert.equal(on.hash, before, 'same hash as before the entry existed: adopted, not recreated');
  assert.notEqual(off.hash, on.hash, 'turning it off recreates');
  const own = desiredService(service('web', { extraHosts: [{ hostname: 'db', ipv4: '10.0.0.5' }] }), instance);
  assert.notEqual(own.hash, on.hash, 'declared extra hosts stay in the hash');
});
