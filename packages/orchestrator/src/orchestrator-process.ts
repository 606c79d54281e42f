import type { DispenserConfig } from '@dispenser/shared/config/types';
import type { LoadOptions, LoadResult } from '@dispenser/shared/config/load';
import { problemLine } from '@dispenser/shared/config/problem';
import { codeOr, DispenserError, errorMessage } from '@dispenser/shared/errors';
import { instanceFromEnv } from '@dispenser/shared/instance';
import { envelope, parseMessage, type Envelope, type Message, type MessageOf } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import type { Component, StatusSource } from './contracts.js';
import type { ContainerEngine } from './docker/engine.js';
import { ProcessPublisher } from './ipc/publisher.js';
import { Notifier, type NotifierOptions } from './notify/notifier.js';
import type { EventSink } from './notify/events.js';
import { Orchestrator, type OrchestratorOptions } from './orchestrator.js';
import { stableStringify } from './reconcile/hash.js';
import { Coalescer } from './reload/coalescer.js';
import { containerSamples, orchestratorMetrics } from './metrics.js';
import { processSamples } from '@dispenser/shared/metrics/process-samples';

/** The IPC channel to the supervisor (process.send / process.on('message') in production). */
export interface Channel {
  send(raw: Envelope): void;
  onMessage(fn: (raw: unknown) => void): void;
}

export interface ComponentContext {
  orchestrator: Orchestrator;
  publisher: ProcessPublisher;
  config: DispenserConfig;
  log: Logger;
  /** `dispenser dev`: self-signed certificates, no ACME */
  dev: boolean;
  /** [[notify]]: where the components tell what happened */
  events: EventSink;
}

export interface OrchestratorProcessDeps {
  configFile: string;
  /** dev mode: only these services (names or dirs); empty: dev mode with every service */
  only?: readonly string[];
  load: (configFile: string, options: LoadOptions) => Promise<LoadResult>;
  engine: ContainerEngine;
  channel: Channel | undefined;
  log: Logger;
  exit: (code: number) => void;
  /** the long-lived parts (CD watcher + cron, certificates); started after the first reconcile */
  createComponents: (ctx: ComponentContext) => Component[] | Promise<Component[]>;
  orchestratorOptions?: Partial<OrchestratorOptions>;
  /** delivery timing and transport of [[notify]] (tests) */
  notifyOptions?: Partial<Omit<NotifierOptions, 'log' | 'instance'>>;
}

export interface OrchestratorProcess {
  orchestrator: Orchestrator;
  /** resolves once the reload (including its reconcile) is done */
  reload(): Promise<void>;
  drain(): Promise<void>;
}

/**
 * The orchestrator process's protocol: proxy-settings first, reconcile, routes, `ready`; reload
 * keeps the running config when the new one is invalid; drain stops Dispenser's own work and
 * exits 0 while the containers keep running. Returns undefined after a fatal start.
 */
export async function runOrchestratorProcess(deps: OrchestratorProcessDeps): Promise<OrchestratorProcess | undefined> {
  const { log, channel } = deps;
  const send = (msg: Message): void => channel?.send(envelope(msg));
  const selection = deps.only && deps.only.length > 0 ? deps.only : undefined;
  const loadOptions: LoadOptions = selection ? { only: selection } : {};
  const load = async (): Promise<LoadResult> => {
    try {
      return await deps.load(deps.configFile, loadOptions);
    } catch (err) {
      return { ok: false, problems: [{ code: codeOr(err, 'CONFIG_LOAD_FAILED'), file: deps.configFile, message: errorMessage(err) }] };
    }
  };

  // loadConfig scrubs messages already; the whole line is scrubbed again so nothing added on the
  // way (a path, a future field) can carry a secret into the log or the reload answer.
  const describe = (result: Extract<LoadResult, { ok: false }>): string[] => result.problems.map((p) => (result.redact ? result.redact(problemLine(p)) : problemLine(p)));

  const first = await load();
  if (!first.ok) {
    const texts = describe(first);
    first.problems.forEach((p, i) => log.error({ code: p.code, file: p.file, line: p.line }, texts[i] ?? p.message));
    send({ type: 'fatal', component: 'orchestrator', code: first.problems[0]?.code ?? 'CONFIG_INVALID', message: texts.join('\n') });
    deps.exit(1);
    return undefined;
  }
  let config = first.config;
  logNotices(log, first);

  const publisher = new ProcessPublisher(channel ? (raw) => channel.send(raw as Envelope) : undefined);
  const instance = deps.orchestratorOptions?.instance ?? instanceFromEnv();
  const notifier = new Notifier({ log, instance: instance.name, ...deps.notifyOptions });
  notifier.setTargets(config.notify, first.redact);
  const orchestrator = new Orchestrator({ engine: deps.engine, publisher, log, partial: selection !== undefined, instance, events: notifier, ...deps.orchestratorOptions });
  orchestrator.setRedactor(first.redact);
  let components: Component[] = [];
  const dropContainerGauge = orchestratorMetrics.gauge(() => containerSamples(deps.engine, orchestrator.instance));
  let draining = false;
  // 1 for the configuration read at start, +1 for each reload applied (`dispenser status`)
  let generation = 1;
  const startedAt = new Date();
  const logStreams = new Map<number, AbortController>();

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    dropContainerGauge();
    orchestrator.stop();
    for (const stream of logStreams.values()) stream.abort();
    await Promise.allSettled(components.map((c) => c.stop()));
    notifier.stop();
    log.info('orchestrator stopped; containers keep running');
    deps.exit(0);
  };

  // A reload is validated the moment it arrives (in arrival order) and reported at once when
  // invalid; a valid one is applied when the orchestrator can, and a newer valid one that arrives
  // meanwhile replaces it (reload/coalescer.ts). Nothing waits without saying what for.
  interface Accepted {
    seq: number;
    config: DispenserConfig;
    redact: ((text: string) => string) | undefined;
  }
  const apply = async (next: Accepted): Promise<void> => {
    if (draining) return;
    const before = config;
    config = next.config;
    orchestrator.setRedactor(next.redact);
    notifier.setTargets(config.notify, next.redact);
    // whether the supervisor can apply them in place is its decision (config/restart-required.ts)
    if (stableStringify(before.proxy) !== stableStringify(config.proxy)) void publisher.publishProxySettings(config.proxy);
    if (stableStringify(before.metrics) !== stableStringify(config.metrics)) sendMetricsSettings();
    log.info({ reload: next.seq }, `applying reload ${next.seq}`);
    await orchestrator.reconcile(config, 'reload');
    await Promise.allSettled(components.map((c) => c.update(config)));
    generation += 1;
    send({ type: 'reloaded', ok: true, errors: [] });
  };
  // the supervisor hosts the metrics listener; it learns where from here (it never reads the config)
  const sendMetricsSettings = (): void => send({ type: 'metrics-settings', listen: config.metrics ? { ...config.metrics.listen } : null });
  const pending = new Coalescer<Accepted>(apply);
  let received = 0;
  const validations = new SerialQueue();

  const reload = (): Promise<void> => {
    const seq = ++received;
    log.info({ reload: seq }, `reload ${seq} received; validating the configuration`);
    return validations.run(load).then((next) => {
      if (draining) return undefined;
      if (!next.ok) {
        const texts = describe(next);
        next.problems.forEach((p, i) => log.error({ code: p.code, file: p.file, line: p.line, reload: seq }, texts[i] ?? p.message));
        log.warn({ reload: seq }, `reload ${seq}: the new configuration is invalid; the ${pending.busy ? 'configuration being applied' : 'running one'} stays`);
        send({ type: 'reloaded', ok: false, errors: texts });
        // told to the running config's targets: the rejected one is not in force
        notifier.emit({ event: 'reload-rejected', code: next.problems[0]?.code ?? 'CONFIG_INVALID', message: `reload ${seq} rejected; the ${pending.busy ? 'configuration being applied' : 'running one'} stays:\n${texts.join('\n')}`, details: { reload: seq, problems: texts.length } });
        return undefined;
      }
      logNotices(log, next, seq);
      // asked before submitting: once submitted, this reload's own reconcile would be listed
      const busy = [...(pending.busy ? [`the reload being applied`] : []), ...orchestrator.busyWith()];
      const { done, replaced } = pending.submit({ seq, config: next.config, redact: next.redact });
      if (replaced) log.info({ reload: seq, replaced: replaced.seq }, `reload ${seq} replaces reload ${replaced.seq}, which was still waiting: the newest configuration wins`);
      if (busy.length > 0) log.info({ reload: seq, waitingFor: busy }, `reload ${seq} is valid; waiting for ${busy.join(' and ')} to finish before applying`);
      return done.catch((err: unknown) => log.error({ reload: seq, err: errorMessage(err) }, `reload ${seq} failed`));
    });
  };

  // `dispenser status` and `dispenser logs`, passed on by the supervisor from its control socket
  const status = async (id: number): Promise<void> => {
    const source: StatusSource = Object.assign({}, ...components.map((c) => c.statusSource ?? {}));
    const services = await orchestrator.serviceFacts(source);
    send({ type: 'status-reply', id, facts: { configGeneration: generation, startedAt: startedAt.toISOString(), busyWith: orchestrator.busyWith(), services } });
  };

  const logs = async (req: MessageOf<'logs-request'>): Promise<void> => {
    const abort = new AbortController();
    logStreams.set(req.id, abort);
    const options = { follow: req.follow, ...(req.tail !== undefined ? { tail: req.tail } : {}), ...(req.since !== undefined ? { since: req.since } : {}) };
    try {
      await orchestrator.streamLogs(req.service, options, (chunk) => send({ type: 'logs-chunk', id: req.id, ...chunk }), abort.signal);
      send({ type: 'logs-end', id: req.id });
    } catch (err) {
      const e = err instanceof DispenserError ? err : new DispenserError('LOGS_FAILED', errorMessage(err));
      send({ type: 'logs-end', id: req.id, error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } });
    } finally {
      logStreams.delete(req.id);
    }
  };

  channel?.onMessage((raw) => {
    const msg = parseMessage(raw);
    if (!msg) {
      log.warn('ignored a message that is not part of the protocol');
      return;
    }
    if (publisher.handle(msg)) return;
    if (msg.type === 'metrics-request') void orchestratorMetrics.samples().then((samples) => send({ type: 'metrics-report', id: msg.id, samples: [...samples, ...processSamples('orchestrator')] }));
    else if (msg.type === 'reload') void reload();
    else if (msg.type === 'drain') void drain();
    else if (msg.type === 'status-request') status(msg.id).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not gather the status; the supervisor reports it as unanswered'));
    else if (msg.type === 'logs-request') void logs(msg);
    else if (msg.type === 'logs-cancel') logStreams.get(msg.id)?.abort();
  });

  // Routes of what already runs go first: the supervisor forks the proxy workers when the proxy
  // settings arrive, and a worker that opened its listeners without routes would answer 404 for
  // every host until the (possibly slow) startup reconcile is done.
  await orchestrator.publishInitialRoutes(config);
  // the supervisor caches these for every proxy worker; not awaited: the workers may start later
  void publisher.publishProxySettings(config.proxy);
  sendMetricsSettings();
  await orchestrator.reconcile(config, 'startup');
  if (draining) return { orchestrator, reload, drain };
  void orchestrator.watchEngine();
  components = await deps.createComponents({ orchestrator, publisher, config, log, dev: deps.only !== undefined, events: notifier });
  send({ type: 'ready', component: 'orchestrator' });
  log.info({ instance: orchestrator.instance.name, services: config.services.length }, 'orchestrator ready');
  return { orchestrator, reload, drain };
}

/** Warnings and notes about a valid config (e.g. CONFIG_TELEMETRY_NOT_WRITTEN), one log line each. */
function logNotices(log: Logger, result: Extract<LoadResult, { ok: true }>, reload?: number): void {
  for (const n of result.notices ?? []) {
    const text = problemLine(n);
    log.warn({ code: n.code, file: n.file, line: n.line, ...(reload === undefined ? {} : { reload }) }, result.redact ? result.redact(text) : text);
  }
}
