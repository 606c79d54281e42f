import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import type { ContainerInfo } from '../src/docker/engine.js';
import { pullAuthSource } from '../src/docker/pull-auth.js';
import { DockerCredentials } from '../src/registry/credentials.js';
import { compareApiVersions } from '../src/docker/dockerode-engine.js';
import { registryHost, repository, sameRepository } from '../src/docker/image-ref.js';
import { ProcessPublisher } from '../src/ipc/publisher.js';
import { conditionState } from '../src/reconcile/dependencies.js';
import { routeTable } from '../src/routes.js';
import { config, service } from './fixtures.js';

function info(state: Record<string, unknown>, ip?: string): ContainerInfo {
  return {
    State: { Running: false, StartedAt: '0001-01-01T00:00:00Z', ExitCode: 0, Status: 'created', ...state },
    NetworkSettings: { Networks: ip ? { dispenser: { IPAddress: ip } } : {} },
  } as unknown as ContainerInfo;
}

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

test('route table: every declared proxied service; upstream = IP on the instance network when running, null otherwise (503, not 404)', () => {
  const proxy = (host: string, path = '/') => ({ host, path, servicePort: 8080, healthIntervalMs: 1, healthTimeoutMs: 1, deployTimeoutMs: 1, drainTimeoutMs: 1 });
  const services = [service('a', { proxy: proxy('A.example.com') }), service('b', { proxy: proxy('b.example.com', '/api') }), service('c'), service('d', { proxy: proxy('d.example.com') })];
  const containers = new Map([
    ['a', info({ Running: true }, '172.28.0.2')],
    ['b', info({ Running: false }, '172.28.0.3')],
    ['c', info({ Running: true }, '172.28.0.4')],
    ['d', undefined],
  ]);
  assert.deepEqual(routeTable(services, containers, 'dispenser'), [
    { service: 'a', host: 'a.example.com', path: '/', upstream: { host: '172.28.0.2', port: 8080 } },
    { service: 'b', host: 'b.example.com', path: '/api', upstream: null },
    { service: 'd', host: 'd.example.com', path: '/', upstream: null },
  ]);
  // the engine could not be asked: every declared route is there, none has an upstream
  assert.deepEqual(routeTable(services, new Map(), 'dispenser').map((r) => [r.service, r.upstream]), [['a', null], ['b', null], ['d', null]]);
  // running but not (yet) on the instance network: no address to forward to
  assert.equal(routeTable(services, new Map([['a', info({ Running: true })]]), 'dispenser')[0]?.upstream, null);
});

test('route table: the HSTS policy of a service travels with its route', () => {
  const proxy = { host: 'h.example.com', path: '/', servicePort: 80, healthIntervalMs: 1, healthTimeoutMs: 1, deployTimeoutMs: 1, drainTimeoutMs: 1, hsts: { maxAgeSeconds: 600, includeSubDomains: true } };
  const routes = routeTable([service('h', { proxy })], new Map([['h', info({ Running: true }, '172.28.0.9')]]), 'dispenser');
  assert.deepEqual(routes[0]?.hsts, { maxAgeSeconds: 600, includeSubDomains: true });
});

test('publisher: versions increase per kind and a publish resolves on applied ≥ its version', async () => {
  const sent: Message[] = [];
  const pub = new ProcessPublisher((raw) => sent.push(parseMessage(raw)!));
  const c = config([]);
  void pub.publishProxySettings(c.proxy);
  let firstDone = false;
  const first = pub.publishRoutes([]).then(() => (firstDone = true));
  const second = pub.publishRoutes([]);
  assert.deepEqual(sent.map((m) => [m.type, 'version' in m ? m.version : -1]), [['proxy-settings', 1], ['routes', 1], ['routes', 2]]);
  pub.handle({ type: 'applied', kind: 'certs', version: 5 });
  await new Promise((r) => setImmediate(r));
  assert.equal(firstDone, false, 'another kind does not resolve routes');
  pub.handle({ type: 'applied', kind: 'routes', version: 2 });
  await Promise.all([first, second]);
  assert.deepEqual(pub.proxySettings, c.proxy);
  await new ProcessPublisher(undefined).publishRoutes([]); // no IPC channel: resolves at once
});

test('registry auth comes from $DOCKER_CONFIG/config.json for the image registry', async () => {
  const registryAuthFor = (image: string, env: { DOCKER_CONFIG: string }) => pullAuthSource(new DockerCredentials({ configDir: env.DOCKER_CONFIG }))(image);
  const dir = mkdtempSync(join(tmpdir(), 'dockercfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.test:5000': { auth: Buffer.from('alice:s3cret').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('bob:pw').toString('base64') } } }));
  assert.deepEqual(await registryAuthFor('registry.test:5000/team/app:1', { DOCKER_CONFIG: dir }), { username: 'alice', password: 's3cret', serveraddress: 'registry.test:5000' });
  assert.equal((await registryAuthFor('nginx:1', { DOCKER_CONFIG: dir }))?.username, 'bob');
  assert.equal(await registryAuthFor('other.test/app', { DOCKER_CONFIG: dir }), undefined);
  assert.equal(await registryAuthFor('x/y', { DOCKER_CONFIG: join(dir, 'missing') }), undefined);
});

test('image references and API versions', () => {
  assert.equal(registryHost('127.0.0.1:5000/a/b:1'), '127.0.0.1:5000');
  assert.equal(registryHost('nginx'), 'docker.io');
  assert.equal(registryHost('library/nginx:1'), 'docker.io');
  assert.equal(repository('127.0.0.1:5000/a/b:1'), '127.0.0.1:5000/a/b');
  assert.equal(repository('host:5000/a@sha256:abc'), 'host:5000/a');
  assert.ok(sameRepository('nginx', 'docker.io/library/nginx'));
  assert.ok(compareApiVersions('1.41', '1.45') < 0 && compareApiVersions('1.45', '1.9') > 0);
});

test('network specs: the default instance owns 172.28.0.0/16, others let the engine choose', async () => {
  const { instanceNetworkSpec, declaredNetworkSpec } = await import('../src/reconcile/networks.js');
  const { instanceFromEnv } = await import('@dispenser/shared/instance');
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

test('depends_on cycles are found (and only the services in them)', async () => {
  const { servicesInCycles } = await import('../src/reconcile/dependencies.js');
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
