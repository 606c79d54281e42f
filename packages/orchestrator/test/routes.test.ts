import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeTable } from '../src/routes.js';
import { service } from '@dispenser/shared/testing/config';
import { containerInfo as info } from './helpers/fakes.js';

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
