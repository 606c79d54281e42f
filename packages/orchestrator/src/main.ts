/**
 * The orchestrator process, forked by the supervisor with DISPENSER_CONFIG (absolute path of
 * dispenser.toml) and, in dev mode, DISPENSER_DEV_SERVICES (JSON array of service names/dirs).
 * Containers outlive this process: drain stops Dispenser's own work, never the services.
 */
import type { DispenserConfig } from '@dispenser/shared/config/types';
import { loadConfig, type LoadResult } from '@dispenser/shared/config/load';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import type { Component } from './contracts.js';
import { DockerodeEngine } from './docker/dockerode-engine.js';
import { ProcessPublisher } from './ipc/publisher.js';
import { Orchestrator } from './orchestrator.js';
import { stableStringify } from './reconcile/hash.js';
import { formatProblem, restartRequired } from './config-change.js';

process.title = 'dispenser: orchestrator';
const log = createLogger('orchestrator');

function send(msg: Message): void {
  process.send?.(envelope(msg));
}

function devServices(): readonly string[] | undefined {
  const raw = process.env.DISPENSER_DEV_SERVICES;
  if (!raw) return undefined;
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error('DISPENSER_DEV_SERVICES must be a JSON array of strings');
  return parsed as string[];
}

async function load(configFile: string, only: readonly string[] | undefined): Promise<LoadResult> {
  return loadConfig(configFile, only ? { only } : {});
}

/**
 * Long-lived parts started after the first reconcile, updated on every valid reload and stopped
 * on drain.
 */
function createComponents(_orchestrator: Orchestrator, _publisher: ProcessPublisher, _config: DispenserConfig): Component[] {
  // ==== PLUG-IN POINT (lead): the CD watcher + cron (Deployer = _orchestrator) and the
  // certificate manager (ProxyPublisher = _publisher) are constructed here and returned. ====
  return [];
}

async function main(): Promise<void> {
  const configFile = process.env.DISPENSER_CONFIG;
  if (!configFile) {
    send({ type: 'fatal', component: 'orchestrator', code: 'ORCHESTRATOR_NO_CONFIG', message: 'DISPENSER_CONFIG is not set' });
    process.exit(1);
  }
  let only: readonly string[] | undefined;
  let first: LoadResult;
  try {
    only = devServices();
    first = await load(configFile, only);
  } catch (err) {
    send({ type: 'fatal', component: 'orchestrator', code: errorCode(err) ?? 'CONFIG_LOAD_FAILED', message: errorMessage(err) });
    process.exit(1);
  }
  if (!first.ok) {
    for (const p of first.problems) log.error({ code: p.code, file: p.file, line: p.line }, formatProblem(p));
    send({ type: 'fatal', component: 'orchestrator', code: first.problems[0]?.code ?? 'CONFIG_INVALID', message: first.problems.map(formatProblem).join('\n') });
    process.exit(1);
  }
  let config = first.config;

  const publisher = new ProcessPublisher();
  const orchestrator = new Orchestrator({ engine: new DockerodeEngine(), publisher, log });
  let components: Component[] = [];
  let draining = false;
  let chain: Promise<unknown> = Promise.resolve();

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    orchestrator.stop();
    await Promise.allSettled(components.map((c) => c.stop()));
    log.info('orchestrator stopped; containers keep running');
    process.exit(0);
  };

  const reload = async (): Promise<void> => {
    let next: LoadResult;
    try {
      next = await load(configFile, only);
    } catch (err) {
      next = { ok: false, problems: [{ code: errorCode(err) ?? 'CONFIG_LOAD_FAILED', file: configFile, message: errorMessage(err) }] };
    }
    if (!next.ok) {
      for (const p of next.problems) log.error({ code: p.code, file: p.file, line: p.line }, formatProblem(p));
      log.warn('the new configuration is invalid; the running one stays');
      send({ type: 'reloaded', ok: false, errors: next.problems.map(formatProblem), restartRequired: [] });
      return;
    }
    const before = config;
    config = next.config;
    const needsRestart = restartRequired(before, config);
    for (const key of needsRestart) log.warn({ key }, `${key} changed: it takes effect after a full restart of Dispenser`);
    if (stableStringify(before.proxy) !== stableStringify(config.proxy)) void publisher.publishProxySettings(config.proxy);
    await orchestrator.reconcile(config, 'reload');
    await Promise.allSettled(components.map((c) => c.update(config)));
    send({ type: 'reloaded', ok: true, errors: [], restartRequired: needsRestart });
  };

  process.on('message', (raw) => {
    const msg = parseMessage(raw);
    if (!msg) {
      log.warn('ignored a message that is not part of the protocol');
      return;
    }
    if (publisher.handle(msg)) return;
    if (msg.type === 'reload') chain = chain.then(reload, reload);
    else if (msg.type === 'drain') void drain();
  });
  // the supervisor went away: nobody to report to, stop our own work (containers stay)
  process.on('disconnect', () => void drain());
  process.on('SIGTERM', () => void drain());

  // the supervisor caches these for every proxy worker; not awaited: the workers may start later
  void publisher.publishProxySettings(config.proxy);
  const first_ = orchestrator.reconcile(config, 'startup');
  chain = first_;
  await first_;
  void orchestrator.watchEngine();
  components = createComponents(orchestrator, publisher, config);
  send({ type: 'ready', component: 'orchestrator' });
  log.info({ instance: orchestrator.instance.name, services: config.services.length }, 'orchestrator ready');
}

process.on('unhandledRejection', (err) => {
  log.error({ err: errorMessage(err), code: errorCode(err) }, 'unhandled rejection (kept running)');
});

await main();
