/**
 * The worker's request counters: what a request through the proxy moves, under which bounded
 * labels, and what the worker reports when scraped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricSample } from '@dispenser/shared/metrics/sample';
import { compileRoutes, lookup } from '../src/table.js';
import { ProxyMetrics } from '../src/metrics.js';
import { get, route, startBackend, startProxy } from './helpers.js';

function find(samples: MetricSample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

test('routes of one service share its counters, found when the table is compiled; they outlive the table', () => {
  const metrics = new ProxyMetrics();
  const t1 = compileRoutes([route('a.test', '/', 1, 'web'), route('b.test', '/x', 2, 'web'), route('c.test', '/', 3, 'api')], 1, metrics);
  const web = lookup(t1, 'a.test', '/')!.metrics;
  assert.equal(lookup(t1, 'b.test', '/x')!.metrics, web);
  assert.notEqual(lookup(t1, 'c.test', '/')!.metrics, web);
  web.request('GET', 200);
  const t2 = compileRoutes([route('a.test', '/', 1, 'web')], 2, metrics);
  assert.equal(lookup(t2, 'a.test', '/')!.metrics, web, 'a new table keeps the counts');
  metrics.retainOnly(new Set(['web']));
  assert.equal(find(metrics.samples(), 'dispenser_proxy_requests_total', { service: 'web', method: 'GET', status_class: '2xx' }), 1);
  assert.equal(metrics.samples().some((s) => s.labels.service === 'api'), false, 'a service no longer routed is forgotten');
});

test('requests through the proxy: by service, method and status class; latency, upstream errors; unknown hosts under "-"', async (t) => {
  const ok = await startBackend('ok');
  const slow = await startBackend('slow', (_req, res) => setTimeout(() => res.end('late'), 300));
  const w = await startProxy({ upstreamTimeoutMs: 100 });
  t.after(async () => {
    await w.drain(100);
    await ok.close();
    await slow.close();
  });
  await w.apply({ type: 'routes', version: 1, routes: [route('app.test', '/', ok.port, 'app'), route('slow.test', '/', slow.port, 'slow'), route('gone.test', '/', 1, 'gone')] });
  const port = w.listeners.httpPort!;
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/', { host: 'app.test' })).status, 200);
  assert.equal((await get(port, '/', { host: 'app.test' }, 'POST', 'x')).status, 200);
  assert.equal((await get(port, '/', { host: 'app.test' }, 'PROPFIND')).status, 200);
  assert.equal((await get(port, '/', { host: 'nobody.test' })).status, 404);
  assert.equal((await get(port, '/', { host: 'slow.test' })).status, 504);
  assert.equal((await get(port, '/', { host: 'gone.test' })).status, 502);

  const s = w.metrics.samples();
  const total = (labels: Record<string, string>) => find(s, 'dispenser_proxy_requests_total', labels);
  assert.equal(total({ service: 'app', method: 'GET', status_class: '2xx' }), 3);
  assert.equal(total({ service: 'app', method: 'POST', status_class: '2xx' }), 1);
  assert.equal(total({ service: 'app', method: 'other', status_class: '2xx' }), 1);
  assert.equal(total({ service: '-', method: 'GET', status_class: '4xx' }), 1);
  assert.equal(total({ service: 'slow', method: 'GET', status_class: '5xx' }), 1);
  assert.equal(find(s, 'dispenser_proxy_upstream_errors_total', { service: 'slow', kind: 'timeout' }), 1);
  assert.equal(find(s, 'dispenser_proxy_upstream_errors_total', { service: 'gone', kind: 'unreachable' }), 1);
  assert.equal(find(s, 'dispenser_proxy_request_duration_seconds_count', { service: 'app' }), 5);
  assert.equal(find(s, 'dispenser_proxy_request_duration_seconds_bucket', { service: 'app', le: '+Inf' }), 5);
  assert.ok(find(s, 'dispenser_proxy_request_duration_seconds_bucket', { service: 'slow', le: '0.05' }) === 0, 'a 100 ms timeout is not under 50 ms');
  assert.ok(find(s, 'dispenser_proxy_request_duration_seconds_sum', { service: 'slow' })! >= 0.1);
  assert.equal(find(s, 'dispenser_proxy_requests_in_flight', { service: 'app' }), 0);
  assert.ok(s.every((x) => !Object.keys(x.labels).some((k) => k === 'host' || k === 'path')), 'no host or path label');
});

test('a request being forwarded is in flight for its service until it ends', async (t) => {
  let release: (() => void) | undefined;
  const held = await startBackend('held', (_req, res) => (release = () => res.end('done')));
  const w = await startProxy();
  t.after(async () => {
    await w.drain(100);
    await held.close();
  });
  await w.apply({ type: 'routes', version: 1, routes: [route('held.test', '/', held.port, 'held')] });
  const reply = get(w.listeners.httpPort!, '/', { host: 'held.test' });
  while (!release) await new Promise((r) => setTimeout(r, 10));
  assert.equal(find(w.metrics.samples(), 'dispenser_proxy_requests_in_flight', { service: 'held' }), 1);
  release();
  assert.equal((await reply).status, 200);
  assert.equal(find(w.metrics.samples(), 'dispenser_proxy_requests_in_flight', { service: 'held' }), 0);
});
