import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renderExposition } from '../../src/metrics/exposition.js';
import { metricFamilies } from '../../src/metrics/families.js';
import type { MetricSample } from '../../src/metrics/sample.js';
import { which } from '../../testing/tools.js';

const h = (service: string, le: string, value: number): MetricSample => ({ name: 'dispenser_proxy_request_duration_seconds_bucket', labels: { service, le }, value });

test('samples of the same series from several workers are summed; histograms keep buckets, sum and count together', () => {
  const worker1: MetricSample[] = [
    { name: 'dispenser_proxy_requests_total', labels: { service: 'web', method: 'GET', status_class: '2xx' }, value: 3 },
    h('web', '0.1', 2), h('web', '+Inf', 3), h('web', '10', 3),
    { name: 'dispenser_proxy_request_duration_seconds_sum', labels: { service: 'web' }, value: 0.5 },
    { name: 'dispenser_proxy_request_duration_seconds_count', labels: { service: 'web' }, value: 3 },
  ];
  const worker2: MetricSample[] = [
    { name: 'dispenser_proxy_requests_total', labels: { status_class: '2xx', method: 'GET', service: 'web' }, value: 4 },
    h('api', '0.1', 1), h('api', '10', 1), h('api', '+Inf', 1),
    { name: 'dispenser_proxy_request_duration_seconds_sum', labels: { service: 'api' }, value: 0.25 },
    { name: 'dispenser_proxy_request_duration_seconds_count', labels: { service: 'api' }, value: 1 },
  ];
  const { text, unknown } = renderExposition([...worker1, ...worker2]);
  assert.deepEqual(unknown, []);
  assert.match(text, /^dispenser_proxy_requests_total\{method="GET",service="web",status_class="2xx"\} 7$/m);
  const hist = text.split('\n').filter((l) => l.startsWith('dispenser_proxy_request_duration_seconds'));
  assert.deepEqual(hist, [
    'dispenser_proxy_request_duration_seconds_bucket{le="0.1",service="api"} 1',
    'dispenser_proxy_request_duration_seconds_bucket{le="10",service="api"} 1',
    'dispenser_proxy_request_duration_seconds_bucket{le="+Inf",service="api"} 1',
    'dispenser_proxy_request_duration_seconds_sum{service="api"} 0.25',
    'dispenser_proxy_request_duration_seconds_count{service="api"} 1',
    'dispenser_proxy_request_duration_seconds_bucket{le="0.1",service="web"} 2',
    'dispenser_proxy_request_duration_seconds_bucket{le="10",service="web"} 3',
    'dispenser_proxy_request_duration_seconds_bucket{le="+Inf",service="web"} 3',
    'dispenser_proxy_request_duration_seconds_sum{service="web"} 0.5',
    'dispenser_proxy_request_duration_seconds_count{service="web"} 3',
  ]);
  assert.match(text, /# TYPE dispenser_proxy_request_duration_seconds histogram\n/);
});

test('label values are escaped; names no family declares are dropped and reported', () => {
  const { text, unknown } = renderExposition([
    { name: 'dispenser_certificate_expiry_timestamp_seconds', labels: { host: 'a"b\\c\nd' }, value: 1 },
    { name: 'made_up_total', labels: {}, value: 1 },
  ]);
  assert.match(text, /\{host="a\\"b\\\\c\\nd"\} 1/);
  assert.deepEqual(unknown, ['made_up_total']);
  assert.ok(!text.includes('made_up'));
});

test('family names follow Prometheus conventions: counters end in _total, units are base units', () => {
  for (const f of metricFamilies) {
    assert.match(f.name, /^(dispenser|process)_[a-z_]+$/);
    assert.equal(f.type === 'counter', f.name.endsWith('_total'), f.name);
    assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb)\b/);
  }
});

test('promtool check metrics accepts the output', (t) => {
  if (!which('promtool')) return t.skip('promtool not installed (Debian package "prometheus", scripts/infra/install.sh)');
  const samples: MetricSample[] = [
    { name: 'dispenser_up', labels: { process: 'supervisor' }, value: 1 },
    { name: 'dispenser_proxy_requests_total', labels: { service: '-', method: 'other', status_class: '4xx' }, value: 2 },
    h('web', '0.005', 0), h('web', '+Inf', 1),
    { name: 'dispenser_proxy_request_duration_seconds_sum', labels: { service: 'web' }, value: 0.2 },
    { name: 'dispenser_proxy_request_duration_seconds_count', labels: { service: 'web' }, value: 1 },
    { name: 'dispenser_containers', labels: { service: 'web', state: 'running' }, value: 1 },
    { name: 'process_cpu_seconds_total', labels: { process: 'orchestrator' }, value: 1.5 },
  ];
  execFileSync('promtool', ['check', 'metrics'], { input: renderExposition(samples).text, stdio: ['pipe', 'pipe', 'pipe'] });
});
