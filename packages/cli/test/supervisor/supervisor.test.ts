import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import type { Message, ProxySettingsSnapshot } from '@dispenser/shared/ipc/messages';
import type { ChildHandle } from '../../src/supervisor/child-process.js';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/supervisor.js';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';

/** An in-memory child: records what it receives; `deaf` drops messages like a cluster worker whose handler is not installed yet. */
class FakeChild implements ChildHandle {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly received: Message[] = [];
  deaf = false;
  onReceive: (msg: Message) => void = () => {};
  private messageCb: (msg: Message) => void = () => {};
  private exitCb: (code: number | null, signal: NodeJS.Signals | null) => void = () => {};
  send(msg: Message): void {
    if (this.deaf) return;
    this.received.push(msg);
    this.onReceive(msg);
  }
  kill(signal: NodeJS.Signals): void {
    setImmediate(() => this.exitCb(null, signal));
  }
  onMessage(cb: (msg: Message) => void): void {
    this.messageCb = cb;
  }
  onExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.exitCb = cb;
  }
  emit(msg: Message): void {
    this.messageCb(msg);
  }
  exit(code: number): void {
    this.exitCb(code, null);
  }
}

const settings = (workers: number): ProxySettingsSnapshot => ({
  type: 'proxy-settings',
  version: 1,
  settings: testProxySettings({ strategy: 'http-only', httpPort: 8080, httpsPort: 8443, bind: '127.0.0.1', workers, connectTimeoutMs: 100, upstreamTimeoutMs: 100, shutdownTimeoutMs: 50 }),
});
function quiet() {
  const log = createLogger('supervisor');
  log.level = 'silent';
  return log;
}
const routes = (version: number) => ({ type: 'routes' as const, version, routes: [] });
const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

function harness(workerSetup: (w: FakeChild, index: number) => void, extra: Partial<SupervisorOptions> = {}) {
  const orchestrators: FakeChild[] = [];
  const workers: FakeChild[] = [];
  const notes: string[] = [];
  const supervisor = new Supervisor({
    log: quiet(),
    serviceManager: { ready: () => notes.push('READY'), reloading: () => notes.push('RELOADING'), stopping: () => notes.push('STOPPING') },
    spawnOrchestrator: () => {
      const o = new FakeChild();
      o.onReceive = (msg) => msg.type === 'drain' && setImmediate(() => o.exit(0));
      orchestrators.push(o);
      return o;
    },
    spawnProxyWorker: (index) => {
      const w = new FakeChild();
      w.onReceive = (msg) => {
        if (msg.type === 'drain') return setImmediate(() => w.exit(0));
        if (msg.type !== 'ack' && 'version' in msg) w.emit({ type: 'ack', kind: msg.type as 'routes', version: msg.version, worker: index });
      };
      workerSetup(w, index);
      workers.push(w);
      return w;
    },
    backoff: { initialMs: 10, maxMs: 100, stableAfterMs: 1000 },
    ...extra,
  });
  return { supervisor, orchestrators, workers, notes };
}

test('a worker that misses its first hand-over still receives every cached snapshot', async () => {
  const h = harness((w) => {
    w.deaf = true;
    setTimeout(() => (w.deaf = false), 120);
  });
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(1));
  o.emit(routes(1));
  o.emit({ type: 'ready', component: 'orchestrator' });
  const w = h.workers[0]!;
  await until(() => w.received.some((m) => m.type === 'routes') && w.received.some((m) => m.type === 'proxy-settings'));
  await until(() => o.received.filter((m) => m.type === 'applied').length === 2);
  assert.deepEqual(o.received.filter((m) => m.type === 'applied').map((m) => m.type === 'applied' && m.kind).sort(), ['proxy-settings', 'routes']);
  w.emit({ type: 'ready', component: 'proxy', worker: 1 });
  assert.deepEqual(h.notes, ['READY']);
  assert.equal(await h.supervisor.stop(0), 0);
  assert.deepEqual(h.notes, ['READY', 'STOPPING']);
});

test('applied waits for the slowest worker and is recomputed when a worker dies', async () => {
  const h = harness((w, index) => {
    // worker 2 never acks routes
    if (index === 2) {
      const ack = w.onReceive;
      w.onReceive = (msg) => (msg.type === 'routes' ? undefined : ack(msg));
    }
  });
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(2));
  await until(() => h.workers.length === 2);
  o.emit(routes(7));
  await new Promise((r) => setTimeout(r, 100));
  const appliedRoutes = () => o.received.filter((m) => m.type === 'applied' && m.kind === 'routes');
  assert.deepEqual(appliedRoutes(), []);
  h.workers[1]!.exit(1); // worker 2 crashes: worker 1 alone decides
  await until(() => appliedRoutes().length === 1);
  assert.deepEqual(appliedRoutes()[0], { type: 'applied', kind: 'routes', version: 7 });
  await h.supervisor.stop(0);
});

test('a replacement worker that cannot start is retried while the serving workers carry on', async () => {
  const h = harness(() => {});
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(2));
  o.emit({ type: 'ready', component: 'orchestrator' });
  await until(() => h.workers.length === 2);
  h.workers[0]!.emit({ type: 'ready', component: 'proxy', worker: 1 });
  h.workers[1]!.emit({ type: 'ready', component: 'proxy', worker: 2 });
  await until(() => h.notes.includes('READY'));
  h.workers[1]!.exit(1); // worker 2 crashes; its replacement cannot listen
  await until(() => h.workers.length === 3);
  h.workers[2]!.emit({ type: 'fatal', component: 'proxy', code: 'PROXY_LISTEN_FAILED', message: 'port 8080 in use' });
  h.workers[2]!.exit(1);
  await until(() => h.workers.length === 4); // retried, and dispenser still runs
  assert.ok(!o.received.some((m) => m.type === 'drain'));
  assert.equal(await h.supervisor.stop(0), 0);
});

test('a fatal child stops everything with code 1 and nothing restarts', async () => {
  const h = harness(() => {});
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(1));
  await until(() => h.workers.length === 1);
  h.workers[0]!.emit({ type: 'fatal', component: 'proxy', code: 'EADDRINUSE', message: 'port 8080 in use' });
  assert.equal(await h.supervisor.finished, 1);
  assert.ok(o.received.some((m) => m.type === 'drain'));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.orchestrators.length, 1);
  assert.equal(h.workers.length, 1);
});

const ticketKeys = (w: FakeChild): string[] => w.received.flatMap((m) => (m.type === 'tls-ticket-keys' ? [m.keys] : []));

test('every worker gets the same TLS ticket keys, before its settings; a restarted one too; the orchestrator cannot set them', async () => {
  const h = harness(() => {});
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(2));
  await until(() => h.workers.length === 2 && h.workers.every((w) => ticketKeys(w).length > 0));
  const [w1, w2] = h.workers as [FakeChild, FakeChild];
  const keys = ticketKeys(w1)[0]!;
  assert.equal(Buffer.from(keys, 'base64').length, 48);
  assert.deepEqual(ticketKeys(w2), [keys]);
  assert.equal(w1.received[0]!.type, 'tls-ticket-keys', 'keys first, so the TLS listener opens with them');

  w2.exit(1);
  await until(() => h.workers.length === 3 && ticketKeys(h.workers[2]!).length > 0);
  assert.deepEqual(ticketKeys(h.workers[2]!), [keys], 'a restarted worker resumes the sessions the others issued');

  o.emit({ type: 'tls-ticket-keys', version: 5, keys: Buffer.alloc(48, 7).toString('base64') });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ticketKeys(w1), [keys]);
  await h.supervisor.stop(0);
});

test('TLS ticket keys rotate: every worker gets the same new keys', async () => {
  const h = harness(() => {}, { ticketKeyRotationMs: 100 });
  h.supervisor.start();
  h.orchestrators[0]!.emit(settings(2));
  await until(() => h.workers.length === 2 && h.workers.every((w) => new Set(ticketKeys(w)).size >= 3));
  const [w1, w2] = h.workers as [FakeChild, FakeChild];
  const common = Math.min(ticketKeys(w1).length, ticketKeys(w2).length);
  assert.deepEqual(ticketKeys(w1).slice(0, common), ticketKeys(w2).slice(0, common));
  await h.supervisor.stop(0);
});

/** A logger that keeps what is logged, for the assertions on warnings. */
function recordingLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) =>
    void lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), debug: () => undefined, trace: () => undefined, child: () => log };
  return { log: log as unknown as SupervisorOptions['log'], lines };
}

test('a reload that changes the number of workers: one warning that it needs a restart; the running workers stay', async () => {
  const { log, lines } = recordingLog();
  const h = harness(() => {}, { log });
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.emit(settings(1));
  o.emit({ type: 'ready', component: 'orchestrator' });
  await until(() => h.workers.length === 1);
  h.supervisor.reload();
  o.emit({ ...settings(2), version: 2 });
  o.emit({ type: 'reloaded', ok: true, errors: [] });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.workers.length, 1, 'no worker is started by a reload');
  const restartNotes = lines.filter((l) => /restart/.test(l.msg));
  assert.deepEqual(
    restartNotes.map((l) => [l.level, l.obj.setting, l.msg]),
    [['warn', 'proxy.workers', 'proxy.workers changed: it takes effect after a restart of dispenser']],
  );
  // the next reload still runs one worker, and says so again
  o.emit({ ...settings(2), version: 3, settings: { ...settings(2).settings, httpPort: 8081 } });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(lines.filter((l) => /restart/.test(l.msg)).length, 2);
  await h.supervisor.stop(0);
});

test('metrics: a scrape gathers every child over IPC; one that does not answer is down (dispenser_up 0, /healthz 503) and does not hold the scrape', async (t) => {
  let stuck = true;
  const answer = (c: FakeChild, msg: Message, process: string) => {
    if (msg.type === 'metrics-request') c.emit({ type: 'metrics-report', id: msg.id, samples: [{ name: 'process_open_fds', labels: { process }, value: 7 }, { name: 'dispenser_proxy_requests_total', labels: { service: 'web', method: 'GET', status_class: '2xx' }, value: 2 }] });
  };
  const h = harness((w, index) => {
    const ack = w.onReceive;
    w.onReceive = (msg) => {
      ack(msg);
      if (index === 2 && stuck) return;
      answer(w, msg, `proxy-worker-${index}`);
    };
  }, { metricsScrapeTimeoutMs: 300 });
  t.after(() => h.supervisor.stop(0));
  h.supervisor.start();
  const o = h.orchestrators[0]!;
  o.onReceive = (msg) => answer(o, msg, 'orchestrator');
  o.emit(settings(2));
  o.emit({ type: 'metrics-settings', listen: { host: '127.0.0.1', port: 0 } });
  o.emit({ type: 'ready', component: 'orchestrator' });
  await until(() => h.workers.length === 2);
  h.workers.forEach((w, i) => w.emit({ type: 'ready', component: 'proxy', worker: i + 1 }));
  await until(() => h.supervisor.metrics.address !== undefined);
  const base = `http://127.0.0.1:${h.supervisor.metrics.address!.port}`;

  const started = Date.now();
  const metrics = await fetch(`${base}/metrics`);
  assert.ok(Date.now() - started < 2000, 'the scrape ends at the timeout');
  const text = await metrics.text();
  assert.match(text, /^dispenser_up\{process="proxy-worker-2"\} 0$/m);
  assert.match(text, /^dispenser_up\{process="proxy-worker-1"\} 1$/m);
  assert.match(text, /^dispenser_up\{process="orchestrator"\} 1$/m);
  // worker 1 and the orchestrator report 2 each: summed
  assert.match(text, /^dispenser_proxy_requests_total\{method="GET",service="web",status_class="2xx"\} 4$/m);
  const sick = await fetch(`${base}/healthz`);
  assert.equal(sick.status, 503);
  assert.match(await sick.text(), /proxy-worker-2: did not answer/);

  stuck = false;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  // a worker that died is down until its replacement is ready
  h.workers[0]!.exit(1);
  assert.equal((await fetch(`${base}/healthz`)).status, 503);
  await until(() => h.workers.length === 3);
  h.workers[2]!.emit({ type: 'ready', component: 'proxy', worker: 1 });
  assert.equal((await fetch(`${base}/healthz`)).status, 200);

  // a reload without [metrics] closes the listener
  o.emit({ type: 'metrics-settings', listen: null });
  await until(() => h.supervisor.metrics.address === undefined);
});
