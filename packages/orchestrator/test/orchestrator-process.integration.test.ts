import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadResult } from '@dispenser/shared/config/load';
import type { DispenserConfig } from '@dispenser/shared/config/types';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import { infra } from '@dispenser/shared/testing/infra';
import type { ContainerEngine } from '../src/docker/engine.js';
import { runOrchestratorProcess, type Channel } from '../src/orchestrator-process.js';
import { containerNameFor } from '../src/reconcile/desired.js';
import { config, service } from '@dispenser/shared/testing/config';
import { buildImage, harness } from './helpers/docker.js';
import { captureLog } from '@dispenser/shared/testing/log';

/** A supervisor stand-in: records what the orchestrator sends and confirms every snapshot. */
function fakeSupervisor(): Channel & { received: Message[]; deliver(msg: Message): void } {
  let handler: ((raw: unknown) => void) | undefined;
  const ch = {
    received: [] as Message[],
    send(raw: unknown) {
      const msg = parseMessage(raw)!;
      ch.received.push(msg);
      if ('version' in msg && msg.type !== 'applied' && msg.type !== 'ack') setImmediate(() => handler?.(envelope({ type: 'applied', kind: msg.type, version: msg.version })));
    },
    onMessage(fn: (raw: unknown) => void) {
      handler = fn;
    },
    deliver(msg: Message) {
      handler?.(envelope(msg));
    },
  };
  return ch;
}

test('orchestrator process: start, reload (invalid, valid), drain', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('orch-proc');
  const log = createLogger('orchestrator', { test: 'orch-proc' });
  log.level = 'warn';
  try {
    const image = buildImage(env.registry, env.baseImage, ['RUN mkdir /www', 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]']);
    h.images.push(image);
    const proxy = { host: 'app.test', path: '/', servicePort: 8080, healthIntervalMs: 1000, healthTimeoutMs: 1000, deployTimeoutMs: 1000, drainTimeoutMs: 1000 };
    const first = config([service('app', { image, proxy })]);
    const second: DispenserConfig = { ...config([service('app', { image, proxy, env: { V: '2' } })]), proxy: { ...first.proxy, enabled: false } };
    const results: LoadResult[] = [
      { ok: true, config: first },
      { ok: false, problems: [{ code: 'CONFIG_UNKNOWN_KEY', file: '/x/app/service.toml', line: 3, column: 1, path: 'service.imag', message: 'unknown key "imag"' }] },
      { ok: true, config: second },
    ];
    const ch = fakeSupervisor();
    const exits: number[] = [];
    const proc = (await runOrchestratorProcess({
      configFile: '/x/dispenser.toml',
      load: async () => results.shift()!,
      engine: h.engine,
      channel: ch,
      log,
      exit: (c) => exits.push(c),
      createComponents: () => [],
      orchestratorOptions: { instance: h.instance, extraLabels: { 'dispenser.test': 'orch' }, retryBaseMs: 60_000, stopTimeoutS: 1 },
    }))!;
    h.orchestrators.push(proc.orchestrator);
    // routes of what runs first (nothing yet: the declared route without upstream), before the
    // settings that make the supervisor fork workers; again before slow work and after the pass.
    // metrics-settings (null: no [metrics]) tells the supervisor whether to open its metrics listener
    assert.deepEqual(ch.received.map((m) => m.type), ['routes', 'proxy-settings', 'metrics-settings', 'routes', 'routes', 'ready']);
    assert.deepEqual(ch.received[2], { type: 'metrics-settings', listen: null });
    assert.deepEqual((ch.received[0] as Extract<Message, { type: 'routes' }>).routes.map((r) => [r.host, r.upstream]), [['app.test', null]]);
    const routes = ch.received[4] as Extract<Message, { type: 'routes' }>;
    assert.equal(routes.routes[0]?.host, 'app.test');
    assert.ok(routes.routes[0]?.upstream, 'the started container is the upstream');
    const id = (await h.inspect(containerNameFor(h.instance, 'app')))!.Id;

    ch.received.length = 0;
    await proc.reload();
    assert.deepEqual(ch.received, [{ type: 'reloaded', ok: false, errors: ['/x/app/service.toml:3:1: service.imag: unknown key "imag" [CONFIG_UNKNOWN_KEY]'] }]);
    assert.equal((await h.inspect(containerNameFor(h.instance, 'app')))!.Id, id, 'the running config stays');

    ch.received.length = 0;
    await proc.reload();
    assert.deepEqual(ch.received.map((m) => m.type), ['proxy-settings', 'routes', 'routes', 'reloaded']);
    assert.deepEqual(ch.received[3], { type: 'reloaded', ok: true, errors: [] });
    const after = (await h.inspect(containerNameFor(h.instance, 'app')))!;
    assert.notEqual(after.Id, id);

    ch.deliver({ type: 'drain', timeoutMs: 1000 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(exits, [0]);
    assert.equal((await h.inspect(after.Id))?.State.Running, true, 'containers keep running after drain');
  } finally {
    h.cleanup();
  }
});

test('orchestrator process: an invalid config at start is fatal', async () => {
  const ch = fakeSupervisor();
  const exits: number[] = [];
  const log = createLogger('orchestrator');
  log.level = 'silent';
  const proc = await runOrchestratorProcess({
    configFile: '/x/dispenser.toml',
    load: async () => ({ ok: false, problems: [{ code: 'CONFIG_TOML_SYNTAX', file: '/x/dispenser.toml', line: 1, message: 'bad' }] }),
    engine: undefined as never,
    channel: ch,
    log,
    exit: (c) => exits.push(c),
    createComponents: () => [],
  });
  assert.equal(proc, undefined);
  assert.deepEqual(exits, [1]);
  assert.deepEqual(ch.received, [{ type: 'fatal', component: 'orchestrator', code: 'CONFIG_TOML_SYNTAX', message: '/x/dispenser.toml:1: bad [CONFIG_TOML_SYNTAX]' }]);
});

test('orchestrator process: reloads behind a redeploy are validated at once, reported when invalid, and coalesced (issue 18)', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('orch-reload');
  const captured = captureLog();
  try {
    const image = buildImage(env.registry, env.baseImage, ['CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 300 & wait"]'], { push: false });
    h.images.push(image);
    const version = (v: string): DispenserConfig => config([service('app', { image, env: { V: v } })]);
    const results: LoadResult[] = [
      { ok: true, config: version('start') },
      { ok: true, config: version('A') },
      { ok: false, problems: [{ code: 'CONFIG_UNKNOWN_KEY', file: '/x/app/service.toml', line: 3, column: 1, path: 'service.imag', message: 'unknown key "imag"' }] },
      { ok: true, config: version('B') },
      { ok: true, config: version('C') },
    ];
    // the next container create waits for the test: a cron redeploy holds the service meanwhile
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    let armed = false;
    const held = new Promise<void>((r) => (entered = r));
    const engine: ContainerEngine = Object.create(h.engine, {
      createContainer: {
        value: async (spec: Parameters<ContainerEngine['createContainer']>[0]) => {
          if (armed) {
            armed = false;
            entered();
            await new Promise<void>((r) => (release = r));
          }
          return h.engine.createContainer(spec);
        },
      },
    });
    const ch = fakeSupervisor();
    const proc = (await runOrchestratorProcess({
      configFile: '/x/dispenser.toml',
      load: async () => results.shift()!,
      engine,
      channel: ch,
      log: captured.log,
      exit: () => undefined,
      createComponents: () => [],
      orchestratorOptions: { instance: h.instance, extraLabels: { 'dispenser.test': 'orch' }, retryBaseMs: 60_000, stopTimeoutS: 1 },
    }))!;
    h.orchestrators.push(proc.orchestrator);
    armed = true;
    const redeploy = proc.orchestrator.redeploy('app', { reason: 'cron', pull: false });
    await held;

    ch.received.length = 0;
    const reloads = [proc.reload(), proc.reload(), proc.reload(), proc.reload()];
    await new Promise((r) => setTimeout(r, 500));
    // every one logged on arrival, the invalid one answered at once, and each says what it waits for
    assert.equal(captured.find(/^reload \d received/).length, 4);
    assert.deepEqual(ch.received.filter((m) => m.type === 'reloaded').map((m) => m.type === 'reloaded' && m.ok), [false], 'the invalid reload is reported before the redeploy ends');
    assert.match(captured.find(/^reload 1 is valid; waiting for/)[0]?.msg ?? '', /the cron redeploy of app/);
    assert.match(captured.find(/^reload 3 is valid; waiting for/)[0]?.msg ?? '', /the reload being applied/);
    assert.equal(captured.find(/^reload 4 replaces reload 3/).length, 1, 'the newest configuration replaces the waiting one');

    release();
    await redeploy;
    await Promise.all(reloads);
    assert.deepEqual(captured.find(/^applying reload/).map((l) => l.msg), ['applying reload 1', 'applying reload 4'], 'reload 3 was never applied');
    assert.deepEqual(ch.received.filter((m) => m.type === 'reloaded').map((m) => m.type === 'reloaded' && m.ok), [false, true, true]);
    const now = await h.inspect(containerNameFor(h.instance, 'app'));
    assert.ok(now?.Config.Env.includes('V=C'), JSON.stringify(now?.Config.Env));
  } finally {
    h.cleanup();
  }
});

test('orchestrator process: warnings about a valid config are logged with their code at start', async () => {
  const captured = captureLog();
  const notice = { code: 'CONFIG_TELEMETRY_NOT_WRITTEN' as const, severity: 'warning' as const, file: '/x/dispenser.toml', line: 9, column: 11, path: 'telemetry.enabled', message: 'telemetry is enabled, but this version of Dispenser does not write telemetry tables yet' };
  // an engine that never answers: the warning must come before any Docker work
  const silentEngine = new Proxy({}, { get: () => () => new Promise(() => undefined) }) as ContainerEngine;
  void runOrchestratorProcess({
    configFile: '/x/dispenser.toml',
    load: async () => ({ ok: true, config: config([]), notices: [notice] }),
    engine: silentEngine,
    channel: fakeSupervisor(),
    log: captured.log,
    exit: () => undefined,
    createComponents: () => [],
  });
  await new Promise((r) => setTimeout(r, 50));
  const warned = captured.lines.filter((l) => l.code === 'CONFIG_TELEMETRY_NOT_WRITTEN');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]!.level, 40, 'logged as a warning');
  assert.equal(warned[0]!.msg, '/x/dispenser.toml:9:11: telemetry.enabled: telemetry is enabled, but this version of Dispenser does not write telemetry tables yet [CONFIG_TELEMETRY_NOT_WRITTEN]');
});
