import { randomBytes } from 'node:crypto';
import type { ServiceProxyConfig } from '@dispenser/shared/config/types';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { redactThenTruncate } from '@dispenser/shared/config/redact';
import type { Logger } from '@dispenser/shared/log';
import { sleep } from '../backoff.js';
import type { ContainerEngine, ContainerSpec, RestartPolicy } from '../docker/engine.js';
import type { DesiredService } from '../reconcile/desired.js';
import { drain, openConnections } from './drain.js';
import { waitHealthy } from './health-gate.js';
import { chooseHealthMethod, hasDockerHealthcheck } from './health.js';
import type { RolloutSteps } from './procedure.js';
import { probeHttp, probeTcp } from './probes.js';
import { EXIT_LOG_LINES } from '../exits.js';

/** How the rollout steers the proxy: the orchestrator's route table with a per-service override. */
export interface RouteSwitch {
  /**
   * Routes `service` to container `id` (undefined: to whatever holds its name), publishes the
   * table and resolves once every proxy worker acknowledged it; false when that did not happen
   * within the publish timeout.
   */
  routeTo(service: string, id: string | undefined): Promise<boolean>;
}

export interface RolloutContext {
  engine: ContainerEngine;
  /** creates, connects and starts; removes what it created on failure */
  createAndStart(d: DesiredService, log: Logger): Promise<string>;
  /** stop (with the configured stop timeout) and remove */
  removeContainer(id: string): Promise<void>;
  routes: RouteSwitch;
  desired: DesiredService;
  proxy: ServiceProxyConfig;
  network: string;
  log: Logger;
  signal: AbortSignal;
  /** lines of the failed container's log reported with the failure */
  logLines?: number;
  /** scrubs secret values from those lines: the container got them in its env and may print them */
  redact?: (text: string) => string;
}

/** The name a new container has while the old one still holds the service's name. */
export function candidateName(containerName: string): string {
  return `${containerName}-rollout-${randomBytes(3).toString('hex')}`;
}

/**
 * The candidate runs without a restart policy while it is on trial: with one, Docker restarts a
 * crashed candidate at once and its State.ExitCode no longer shows the crash (a rollout that
 * failed with exit code 3 was reported as "exit code 0"). The declared policy is applied once it
 * is healthy (waitHealthy). Only the spec changes: the config-hash label still describes the
 * declared container, so adoption after a restart is not affected.
 */
export function candidateSpec(spec: ContainerSpec, name: string): ContainerSpec {
  return { ...spec, name, HostConfig: { ...spec.HostConfig, RestartPolicy: { Name: 'no' } } };
}

export function declaredRestartPolicy(spec: ContainerSpec): RestartPolicy {
  return spec.HostConfig?.RestartPolicy ?? { Name: 'no' };
}

export function engineSteps(ctx: RolloutContext): RolloutSteps {
  const { engine, desired: d, proxy, log } = ctx;
  const scrub = ctx.redact ?? ((text: string) => text);
  const side = candidateName(d.containerName);
  const pause = (ms: number): Promise<boolean> => sleep(ms, ctx.signal);
  let candidateStartedAt = 0;

  return {
    async startCandidate() {
      log.info({ container: side }, `rolling out a new container for ${d.service} beside the running one`);
      const id = await ctx.createAndStart({ ...d, containerName: side, spec: candidateSpec(d.spec, side) }, log);
      candidateStartedAt = Date.now();
      return id;
    },

    async waitHealthy(id) {
      const info = await engine.inspectContainer(id);
      const method = chooseHealthMethod(info ? hasDockerHealthcheck(info) : false, proxy.healthPath);
      const deadlineMs = Math.max(0, proxy.deployTimeoutMs - (Date.now() - candidateStartedAt));
      const detail = await waitHealthy(
        id,
        { method, network: ctx.network, port: proxy.servicePort, intervalMs: proxy.healthIntervalMs, probeTimeoutMs: proxy.healthTimeoutMs, deadlineMs, log },
        { inspect: (x) => engine.inspectContainer(x), probeHttp: (ip, port, path, t) => probeHttp(ip, port, path, t, proxy.host), probeTcp, sleep: pause, now: Date.now },
      );
      log.info({ container: side, method: method.kind, afterMs: Date.now() - candidateStartedAt }, `new container is healthy (${detail})`);
      // Before it gets traffic: from here on it is the service, and a crash must be restarted.
      // Failing here counts as unhealthy (rolled back): a container that would not be restarted
      // must not take over.
      const policy = declaredRestartPolicy(d.spec);
      if (policy.Name !== 'no') await engine.setRestartPolicy(id, policy);
      return detail;
    },

    async switchRoutes(id) {
      if (!(await ctx.routes.routeTo(d.service, id))) {
        throw new DispenserError('ROLLOUT_ROUTES_UNCONFIRMED', 'the proxy workers did not confirm the new route table', {
          hint: 'look for proxy worker errors in the log; the old container kept serving',
        });
      }
      log.info({ container: side }, 'every proxy worker routes to the new container');
    },

    async revertRoutes() {
      await ctx.routes.routeTo(d.service, undefined);
    },

    async drainOld(oldId) {
      // best effort: not knowing whether it drained must not keep the old container forever
      const old = await engine.inspectContainer(oldId).catch(() => undefined);
      if (!old?.State.Running) return; // it stopped on its own: nothing in flight to wait for
      const pid = old.State.Pid;
      const r = await drain(proxy.drainTimeoutMs, { connections: () => openConnections(pid, proxy.servicePort), sleep: pause, now: Date.now });
      if (r.drained) log.info({ method: r.method, waitedMs: r.waitedMs }, 'old container drained');
      else log.warn({ open: r.open, waitedMs: r.waitedMs }, `drain_timeout reached with ${r.open} connection(s) still open on the old container: closing them`);
    },

    async removeOld(oldId) {
      await ctx.removeContainer(oldId);
    },

    async promote(id) {
      await engine.renameContainer(id, d.containerName);
      log.info({ container: d.containerName, id: id.slice(0, 12), afterMs: Date.now() - candidateStartedAt }, `rollout of ${d.service} complete: ${d.containerName} is the new container`);
    },

    async settleRoutes() {
      await ctx.routes.routeTo(d.service, undefined);
    },

    async discard(id, cause) {
      let lastLogs: string[] = [];
      try {
        // redacted before cutting at 500 characters, so the cut cannot leave an unmatched piece
        lastLogs = (await engine.containerLogs(id, ctx.logLines ?? EXIT_LOG_LINES)).map((l) => redactThenTruncate(l, scrub, 500));
      } catch (err) {
        lastLogs = [`(logs unavailable: ${scrub(errorMessage(err))})`];
      }
      let removed = true;
      try {
        // killed, not stopped: it never had traffic, and a graceful stop (10 s for an app that
        // ignores SIGTERM) would only delay the rollback and a `dispenser -s stop`
        await engine.removeContainer(id);
      } catch (err) {
        removed = false;
        log.error({ container: side, err: errorMessage(err) }, `could not remove the failed new container ${side}; remove it with docker rm -f ${side}`);
      }
      log.error(
        { code: cause.code, container: side, image: d.image, removed, lastLogs },
        `rollout of ${d.service} failed: ${scrub(cause.message)}; the new container was ${removed ? 'removed' : 'NOT removed'} and the previous one keeps serving. Last log lines of the new container:\n${lastLogs.join('\n') || '(none)'}`,
      );
    },
  };
}
