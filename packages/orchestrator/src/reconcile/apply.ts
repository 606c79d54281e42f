import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { serviceLogger, type Logger } from '@dispenser/shared/log';
import { LABELS } from '@dispenser/shared/instance';
import type { ContainerEngine, PullEvent, PullAuth } from '../docker/engine.js';
import { wrapEngineError } from '../docker/errors.js';
import type { KeyedLock } from '../keyed-lock.js';
import { awaitCondition, servicesInCycles } from './dependencies.js';
import { createMissingBindSources } from './bind-sources.js';
import type { DesiredService } from './desired.js';
import type { Action } from './plan.js';
import { CONTAINER_STOP_TIMEOUT_S, DEPENDENCY_TIMEOUT_MS } from '@dispenser/shared/defaults';

export interface ApplierOptions {
  engine: ContainerEngine;
  log: Logger;
  lock: KeyedLock;
  pullAuth: (image: string) => Promise<PullAuth | undefined>;
  /** how long a service waits for its depends_on conditions; default 5 min */
  dependencyTimeoutMs?: number;
  /** seconds a container gets to stop before it is killed; default 10 */
  stopTimeoutS?: number;
  signal?: AbortSignal;
  /**
   * How a service whose image is in place gets its new container (the deploy strategy);
   * default: createAndStart, or replace (stop-then-start) when one exists.
   */
  deploy?: (d: DesiredService, existingId: string | undefined, log: Logger) => Promise<string>;
}

export interface ServiceOutcome {
  service: string;
  action: Action['kind'];
  ok: boolean;
  containerId?: string;
  error?: DispenserError;
}

/** How a pull failure is handled: fall back to a local copy of the image, or fail. */
export type PullMode = 'pull-or-local' | 'pull-strict' | 'local-or-pull';

/**
 * The only code that changes containers. Each operation either completes or undoes what it did:
 * a container that was created but could not be started is removed again, and a replaced one is
 * put back when its successor fails to start.
 */
export class Applier {
  private readonly engine: ContainerEngine;

  constructor(private readonly opts: ApplierOptions) {
    this.engine = opts.engine;
  }

  private logFor(service: string): Logger {
    return serviceLogger(this.opts.log, service);
  }

  /**
   * Runs a plan. Removals first, then every service concurrently; a service with depends_on waits
   * for its dependencies' tasks and conditions. Never throws for one service's failure.
   */
  async apply(actions: readonly Action[], desired: ReadonlyMap<string, DesiredService>, failedNetworks: ReadonlyMap<string, DispenserError> = new Map()): Promise<ServiceOutcome[]> {
    const outcomes: ServiceOutcome[] = [];
    for (const a of actions) {
      if (a.kind === 'rename') {
        const log = this.logFor(a.service);
        try {
          await this.opts.lock.run(a.service, () => this.engine.renameContainer(a.containerId, a.to));
          log.warn({ container: a.to, from: a.from }, `container ${a.from} was left under its rollout name (Dispenser stopped mid-rollout): renamed to ${a.to}`);
        } catch (err) {
          const e = wrapEngineError('CONTAINER_RENAME_FAILED', `cannot rename ${a.from} to ${a.to}`, err);
          if (e.code === 'DOCKER_UNAVAILABLE') throw e;
          log.error({ code: e.code }, e.message);
        }
        continue;
      }
      if (a.kind !== 'remove') continue;
      const run = async (): Promise<void> => {
        const log = this.logFor(a.service ?? a.name);
        if (a.service !== undefined && a.reason === 'stale') {
          // Planned before this service's lock was taken: a cron or image-change redeploy holding
          // it may have removed this set-aside copy, or renamed it back after its successor failed.
          const want = desired.get(a.service)?.containerName;
          const now = await this.engine.inspectContainer(a.containerId);
          if (!now) return;
          if (want !== undefined && a.name !== want && now.Name.replace(/^\//, '') === want) return;
        }
        log.info({ container: a.name, reason: a.reason }, `removing container ${a.name} (${a.reason === 'undeclared' ? 'service no longer declared' : 'stale copy'})`);
        await this.removeContainer(a.containerId);
      };
      try {
        await (a.service ? this.opts.lock.run(a.service, run) : run());
      } catch (err) {
        const e = wrapEngineError('CONTAINER_REMOVE_FAILED', `cannot remove container ${a.name}`, err);
        if (e.code === 'DOCKER_UNAVAILABLE') throw e;
        this.logFor(a.service ?? a.name).error({ code: e.code }, e.message);
      }
    }

    // a cycle would make its services wait on each other forever: fail them up front
    const cyclic = servicesInCycles(new Map([...desired.values()].map((d) => [d.service, Object.keys(d.dependsOn)])));
    const tasks = new Map<string, Promise<string | undefined>>();
    const serviceActions = actions.filter((a): a is Exclude<Action, { kind: 'remove' | 'rename' }> => a.kind !== 'remove' && a.kind !== 'rename');
    for (const a of serviceActions) {
      const d = desired.get(a.service);
      if (!d) continue;
      const task = Promise.resolve().then(() => this.opts.lock.run(a.service, () => this.runServiceAction(a, d, desired, tasks, failedNetworks, cyclic)));
      task.catch(() => undefined); // collected below, in order; a failure before then is not unhandled
      tasks.set(a.service, task);
    }
    for (const a of serviceActions) {
      const task = tasks.get(a.service);
      if (!task) continue;
      try {
        const containerId = await task;
        outcomes.push({ service: a.service, action: a.kind, ok: true, ...(containerId ? { containerId } : {}) });
      } catch (err) {
        const e = err instanceof DispenserError ? err : new DispenserError('SERVICE_FAILED', errorMessage(err), { cause: err });
        outcomes.push({ service: a.service, action: a.kind, ok: false, error: e });
      }
    }
    return outcomes;
  }

  private async runServiceAction(
    a: Exclude<Action, { kind: 'remove' | 'rename' }>,
    d: DesiredService,
    desired: ReadonlyMap<string, DesiredService>,
    tasks: ReadonlyMap<string, Promise<string | undefined>>,
    failedNetworks: ReadonlyMap<string, DispenserError>,
    cyclic: ReadonlySet<string>,
  ): Promise<string | undefined> {
    const log = this.logFor(a.service);
    try {
      switch (a.kind) {
        case 'adopt':
          log.info({ container: d.containerName }, 'container is up to date: adopted');
          return a.containerId;
        case 'await-trigger':
          log.info('initialize = "on-trigger": not started until cron or an image change triggers it');
          return undefined;
        case 'conflict':
          throw new DispenserError('CONTAINER_NAME_CONFLICT', `a container named ${a.name} exists and is not managed by Dispenser; it was left alone`, {
            hint: `remove or rename it (docker rm -f ${a.name}) or rename the service; Dispenser retries`,
          });
        case 'start':
        case 'create':
        case 'takeover':
        case 'recreate': {
          if (cyclic.has(a.service)) {
            throw new DispenserError('DEPENDENCY_CYCLE', `service ${a.service} is part of a depends_on cycle and can never start`, { hint: 'remove one of the depends_on entries of the cycle' });
          }
          const net = d.networks.find((n) => failedNetworks.has(n.name));
          if (net) throw failedNetworks.get(net.name)!;
          let existingId = a.kind === 'recreate' || a.kind === 'takeover' ? a.containerId : undefined;
          if (a.kind !== 'start') {
            // Planned before this service's lock was taken: a cron or image-change redeploy that
            // held it may have made a container meanwhile. Act on what is there now.
            const current = await this.engine.inspectContainer(d.containerName);
            const labels = current?.Config.Labels ?? {};
            if (current && labels[LABELS.managed] === 'true' && labels[LABELS.service] === d.service) {
              if (labels[LABELS.configHash] === d.hash) {
                log.info({ container: d.containerName }, 'container is up to date: adopted');
                return current.Id;
              }
              existingId = current.Id;
            }
          }
          // pull while the dependencies come up
          if (a.kind !== 'start') await this.ensureImage(d, 'pull-or-local', log);
          await this.awaitDependencies(d, desired, tasks, log);
          if (a.kind === 'start') {
            log.info({ container: d.containerName }, 'starting existing up-to-date container');
            await this.startExisting(a.containerId, d);
            return a.containerId;
          }
          if (a.kind === 'takeover') {
            log.warn({ container: a.name }, `container ${a.name} was left by the original Dispenser (no labels, on its dispenser network): replacing it`);
            // stop-then-start whatever the strategy: the old container is not behind our proxy
            return await this.replace(a.containerId, d, log);
          }
          if (this.opts.deploy) return await this.opts.deploy(d, existingId, log);
          return existingId ? await this.replace(existingId, d, log) : await this.createAndStart(d, log);
        }
      }
    } catch (err) {
      const e = err instanceof DispenserError ? err : wrapEngineError('SERVICE_FAILED', `service ${a.service} failed`, err);
      log.error({ code: e.code, hint: e.hint }, e.message);
      throw e;
    }
  }

  private async awaitDependencies(d: DesiredService, desired: ReadonlyMap<string, DesiredService>, tasks: ReadonlyMap<string, Promise<string | undefined>>, log: Logger): Promise<void> {
    await Promise.all(
      Object.entries(d.dependsOn).map(async ([dep, condition]) => {
        const depDesired = desired.get(dep);
        if (!depDesired) {
          log.warn({ dependency: dep }, `dependency ${dep} is not declared: not awaited`);
          return;
        }
        try {
          await tasks.get(dep);
        } catch (err) {
          throw new DispenserError('DEPENDENCY_FAILED', `dependency ${dep} failed: ${errorMessage(err)}`, { cause: err, hint: `fix ${dep} first; Dispenser retries` });
        }
        await awaitCondition(this.engine, dep, depDesired.containerName, condition, {
          timeoutMs: this.opts.dependencyTimeoutMs ?? DEPENDENCY_TIMEOUT_MS,
          log,
          ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        });
      }),
    );
  }

  /**
   * Makes the image available. pull-or-local: pull, and when that fails use a local copy with a
   * warning; pull-strict: the pull must succeed; local-or-pull: pull only when missing locally.
   */
  async ensureImage(d: Pick<DesiredService, 'image' | 'service'>, mode: PullMode, log: Logger): Promise<void> {
    const local = async (): Promise<boolean> => (await this.engine.inspectImage(d.image)) !== undefined;
    if (mode === 'local-or-pull' && (await local())) return;
    try {
      await this.pull(d.image, log);
    } catch (err) {
      const e = wrapEngineError('IMAGE_PULL_FAILED', `cannot pull ${d.image}`, err, 'check the image name, the registry and its credentials');
      if (e.code === 'DOCKER_UNAVAILABLE') throw e;
      if (mode !== 'pull-strict' && (await local())) {
        log.warn({ image: d.image, code: e.code, reason: e.message }, `pull of ${d.image} failed; using the local copy of the image`);
        return;
      }
      throw new DispenserError('IMAGE_UNAVAILABLE', `${e.message} (and no local copy exists)`, { cause: e, hint: e.hint ?? 'check the image name and that the registry is reachable' });
    }
  }

  private async pull(image: string, log: Logger): Promise<void> {
    log.info({ image }, `pulling ${image}`);
    const auth = await this.opts.pullAuth(image);
    const lastStatus = new Map<string, string>();
    await this.engine.pullImage(image, auth, (e: PullEvent) => {
      if (e.error || !e.status) return;
      // one line per layer status change, not per progress tick
      const key = e.id ?? '';
      if (lastStatus.get(key) === e.status) return;
      lastStatus.set(key, e.status);
      log.debug({ image, layer: e.id, status: e.status }, 'pull progress');
      if (!e.id || /^(Digest|Status):/.test(e.status)) log.info({ image, status: e.status }, `pull: ${e.status}`);
    });
  }

  /** Creates, connects and starts the container; on any failure the new container is removed. */
  async createAndStart(d: DesiredService, log: Logger): Promise<string> {
    let id: string | undefined;
    try {
      for (const dir of await createMissingBindSources(d.spec)) log.info({ container: d.containerName, dir }, `created the missing bind-mount source ${dir}`);
      id = await this.engine.createContainer(d.spec);
      for (const n of d.networks.slice(1)) await this.engine.connectNetwork(n.name, id, n.aliases);
      await this.engine.startContainer(id);
      log.info({ container: d.containerName, id: id.slice(0, 12), hash: d.hash }, `container ${d.containerName} started`);
      return id;
    } catch (err) {
      if (id !== undefined) await this.removeContainer(id).catch((e) => log.error({ err: errorMessage(e) }, 'could not remove the half-created container'));
      throw wrapEngineError(id === undefined ? 'CONTAINER_CREATE_FAILED' : 'CONTAINER_START_FAILED', `cannot ${id === undefined ? 'create' : 'start'} ${d.containerName}`, err, startHint(err));
    }
  }

  /**
   * Stop-then-start replacement. The old container is stopped and renamed aside, so that if the new
   * one cannot start, the old one is renamed back and restarted.
   */
  async replace(oldId: string, d: DesiredService, log: Logger): Promise<string> {
    const old = await this.engine.inspectContainer(oldId);
    const wasRunning = old?.State.Running ?? false;
    if (!old) return this.createAndStart(d, log);
    log.info({ container: d.containerName, old: oldId.slice(0, 12) }, 'replacing container');
    await this.engine.stopContainer(oldId, this.opts.stopTimeoutS ?? CONTAINER_STOP_TIMEOUT_S);
    const aside = `${d.containerName}-old-${oldId.slice(0, 8)}`;
    await this.engine.renameContainer(oldId, aside);
    try {
      const id = await this.createAndStart(d, log);
      await this.removeContainer(oldId);
      return id;
    } catch (err) {
      try {
        await this.engine.renameContainer(oldId, d.containerName);
        if (wasRunning) await this.engine.startContainer(oldId);
        log.warn({ container: d.containerName }, 'new container failed; the previous one was put back');
      } catch (restoreErr) {
        log.error({ err: errorMessage(restoreErr), container: aside }, 'could not put the previous container back');
      }
      throw err;
    }
  }

  async startExisting(id: string, d: DesiredService): Promise<void> {
    try {
      await this.engine.startContainer(id);
    } catch (err) {
      throw wrapEngineError('CONTAINER_START_FAILED', `cannot start ${d.containerName}`, err, startHint(err));
    }
  }

  async removeContainer(id: string): Promise<void> {
    await this.engine.stopContainer(id, this.opts.stopTimeoutS ?? CONTAINER_STOP_TIMEOUT_S);
    await this.engine.removeContainer(id);
  }
}

function startHint(err: unknown): string | undefined {
  const m = errorMessage(err);
  if (/port is already allocated|address already in use/i.test(m)) return 'another process or container uses that host port: free it or change [[port]] host; Dispenser retries';
  if (/\[\[volume\]\] source directory/.test(m)) return 'make the parent directory writable by the user Dispenser runs as, or create the directory yourself; Dispenser retries';
  if (/bind source path does not exist|no such file or directory/i.test(m)) return 'a [[volume]] source path does not exist on the host: create it; Dispenser retries';
  return undefined;
}
