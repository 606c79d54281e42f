/**
 * `[metrics] listen` through the real CLI: requests through the proxy to a container move the
 * counters and the histogram, the output passes `promtool check metrics`, and /healthz answers
 * 503 while a proxy worker is dead and 200 again once it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { infra } from '@dispenser/shared/testing/infra';
import { which } from '@dispenser/shared/testing/tools';
import { isAlive, startDaemon, type Daemon, type LogLine } from '@dispenser/shared/testing/daemon';
import { docker, httpdImage, randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { get, readReply, waitForReply, type Reply } from '../helpers/http.js';
import { writeStack } from '../helpers/stack.js';
import { freePorts, processTitle, sleep } from '../helpers/supervision.js';

const READY = (l: LogLine): boolean => l.component === 'supervisor' && l.msg === 'dispenser ready';

function scrape(port: number, path: string): Promise<Reply> {
  return readReply(http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }));
}

/** the value of one series in an exposition, or undefined when it is not there */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

test('metrics and /healthz on [metrics] listen, through the real CLI', { timeout: 180_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const instance = randomName('test-metrics');
  const image = `${env.registry}/${randomName('metrics')}:v1`;
  const host = `${randomName('app')}.metrics.test`;
  const [httpPort, metricsPort] = (await freePorts(2)) as [number, number];
  const stack = writeStack(
    `[proxy]
strategy = "http-only"
http_port = ${httpPort}
bind = "127.0.0.1"
workers = 2

[metrics]
listen = "127.0.0.1:${metricsPort}"

[[service]]
path = "web"
`,
    {
      web: `[service]
name = "web"
image = "${image}"

[dispenser]
watch = false

[proxy]
host = "${host}"
service_port = 8080
`,
    },
  );
  let daemon: Daemon | undefined;
  t.after(async () => {
    await daemon?.stop();
    removeInstance(instance);
    try {
      docker('rmi', '-f', image);
    } catch {
      // never built
    }
    stack.remove();
  });
  httpdImage(image, env.baseImage, 'hello');
  daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance }, { t });
  await daemon.waitForLog(READY, 90_000);
  await waitForReply(httpPort, '/', host, (r) => r.status === 200 && r.body === 'hello\n');

  const before = (await scrape(metricsPort, '/metrics')).body;
  const ok = 'dispenser_proxy_requests_total{method="GET",service="web",status_class="2xx"}';
  const okBefore = value(before, ok) ?? 0;
  const countBefore = value(before, 'dispenser_proxy_request_duration_seconds_count{service="web"}') ?? 0;
  for (let i = 0; i < 10; i++) assert.equal((await get(httpPort, '/', host)).status, 200);
  assert.equal((await get(httpPort, '/', 'nobody.metrics.test')).status, 404);
  await readReply(http.request({ host: '127.0.0.1', port: httpPort, path: '/', method: 'PROPFIND', headers: { host }, agent: false }).end());

  const res = await scrape(metricsPort, '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  // counted by whichever worker served them, summed across workers
  assert.equal(value(text, ok), okBefore + 10, text);
  assert.equal(value(text, 'dispenser_proxy_request_duration_seconds_count{service="web"}'), countBefore + 11);
  assert.ok(value(text, 'dispenser_proxy_request_duration_seconds_bucket{le="+Inf",service="web"}')! >= countBefore + 11);
  assert.ok((value(text, 'dispenser_proxy_requests_total{method="other",service="web",status_class="2xx"}') ?? 0) + (value(text, 'dispenser_proxy_requests_total{method="other",service="web",status_class="4xx"}') ?? 0) + (value(text, 'dispenser_proxy_requests_total{method="other",service="web",status_class="5xx"}') ?? 0) >= 1, 'an unusual method is labelled "other"');
  assert.equal(value(text, 'dispenser_proxy_requests_total{method="GET",service="-",status_class="4xx"}'), 1, 'an unknown host counts under service "-"');
  assert.equal(value(text, 'dispenser_proxy_requests_in_flight{service="web"}'), 0);
  assert.ok(!text.includes(host) && !text.includes('nobody'), 'no host label');
  for (const p of ['supervisor', 'orchestrator', 'proxy-worker-1', 'proxy-worker-2']) {
    assert.equal(value(text, `dispenser_up{process="${p}"}`), 1, p);
    assert.ok(value(text, `process_resident_memory_bytes{process="${p}"}`)! > 0, p);
  }
  assert.equal(value(text, 'dispenser_containers{service="web",state="running"}'), 1);
  assert.ok((value(text, 'dispenser_deploys_total{result="success",service="web"}') ?? 0) >= 1, text);

  if (which('promtool')) {
    // promtool reads the exposition on stdin; it exits non-zero on a format or naming problem
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
  } else {
    t.diagnostic('promtool not installed (Debian package "prometheus", scripts/infra/install.sh): exposition not checked by it');
  }

  assert.equal((await scrape(metricsPort, '/healthz')).status, 200);
  // a dead worker: /healthz says so until the supervisor has it back
  const pids = execFileSync('pgrep', ['-P', String(daemon.child.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  const worker = pids.find((pid) => processTitle(pid) === 'dispenser: proxy worker 2');
  assert.ok(worker, `proxy worker 2 among ${pids.join(', ')}`);
  process.kill(worker, 'SIGKILL');
  const down = await until('/healthz 503', async () => {
    const r = await scrape(metricsPort, '/healthz');
    return r.status === 503 ? r : undefined;
  }, 10_000, 20);
  assert.match(down.body, /proxy-worker-2/);
  await until('/healthz 200 again', async () => ((await scrape(metricsPort, '/healthz')).status === 200 ? true : undefined), 30_000);
  assert.ok(!isAlive(worker));
  const after = (await scrape(metricsPort, '/metrics')).body;
  assert.equal(value(after, 'dispenser_up{process="proxy-worker-2"}'), 1);
  assert.equal((await scrape(metricsPort, '/nothing')).status, 404);
});
