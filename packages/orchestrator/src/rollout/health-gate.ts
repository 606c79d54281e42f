import { DispenserError } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerInfo } from '../docker/engine.js';
import { judge, needsProbe, observe, type HealthMethod, type ProbeResult } from './health.js';

/** What the gate needs from the world; tests pass fakes, the orchestrator the engine and probes.ts. */
export interface HealthGateDeps {
  inspect(id: string): Promise<ContainerInfo | undefined>;
  probeHttp(ip: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult>;
  probeTcp(ip: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  /** resolves false when aborted */
  sleep(ms: number): Promise<boolean>;
  now(): number;
}

export interface HealthGateOptions {
  method: HealthMethod;
  /** instance network the proxy reaches the container on */
  network: string;
  port: number;
  intervalMs: number;
  /** per probe */
  probeTimeoutMs: number;
  /** the whole wait (a probe under way at the deadline may finish it by up to probeTimeoutMs) */
  deadlineMs: number;
  log: Logger;
}

/**
 * Looks at the candidate every interval until it is healthy (resolves), exits or turns unhealthy,
 * or the deadline passes (rejects with a DispenserError whose message says what was seen last).
 */
export async function waitHealthy(id: string, opts: HealthGateOptions, deps: HealthGateDeps): Promise<string> {
  const started = deps.now();
  let last = 'not looked at yet';
  for (;;) {
    const obs = observe(await deps.inspect(id), opts.network);
    if (needsProbe(opts.method, obs)) {
      // not cut short near the deadline: a clipped probe would report a timeout instead of the real answer
      const timeout = opts.probeTimeoutMs;
      obs.probe = opts.method.kind === 'http' ? await deps.probeHttp(obs.ip!, opts.port, opts.method.path, timeout) : await deps.probeTcp(obs.ip!, opts.port, timeout);
    }
    const verdict = judge(opts.method, obs);
    if (verdict.kind === 'healthy') return verdict.detail;
    if (verdict.kind === 'failed') {
      throw new DispenserError(verdict.code, verdict.detail, {
        hint: verdict.code === 'ROLLOUT_UNHEALTHY' ? 'the image\'s health check fails: see its logs above' : 'the new container stopped: see its logs above',
      });
    }
    if (verdict.detail !== last) opts.log.debug({ method: opts.method.kind, state: verdict.detail }, `waiting for the new container to be healthy: ${verdict.detail}`);
    last = verdict.detail;
    const elapsed = deps.now() - started;
    if (elapsed >= opts.deadlineMs) {
      throw new DispenserError('ROLLOUT_UNHEALTHY', `the new container did not become healthy within ${Math.round(opts.deadlineMs / 1000)} s (last: ${last})`, {
        hint: describeFix(opts.method),
      });
    }
    if (!(await deps.sleep(Math.min(opts.intervalMs, opts.deadlineMs - elapsed)))) {
      throw new DispenserError('ROLLOUT_ABORTED', 'Dispenser is stopping: rollout abandoned');
    }
  }
}

function describeFix(method: HealthMethod): string {
  switch (method.kind) {
    case 'docker':
      return 'its Docker health check never passed: check [healthcheck] test, or raise [proxy] deploy_timeout';
    case 'http':
      return `GET ${method.path} on [proxy] service_port must answer 2xx/3xx: check health_path and service_port, or raise deploy_timeout`;
    case 'tcp':
      return 'nothing accepted connections on [proxy] service_port: check service_port, or raise deploy_timeout';
  }
}
