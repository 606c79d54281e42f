import type { ContainerInfo } from '../docker/engine.js';

/**
 * Pure: how a new container proves it can take traffic, and what one look at it means. The loop
 * that looks (and the probes that touch the network) live in health-gate.ts.
 */

/** Docker's own health check wins; else the proxy's health_path; else a TCP connect. */
export type HealthMethod = { kind: 'docker' } | { kind: 'http'; path: string } | { kind: 'tcp' };

export function chooseHealthMethod(dockerHealthcheck: boolean, healthPath: string | undefined): HealthMethod {
  if (dockerHealthcheck) return { kind: 'docker' };
  if (healthPath) return { kind: 'http', path: healthPath };
  return { kind: 'tcp' };
}

/** true when the container runs a Docker health check (from [healthcheck] or the image's HEALTHCHECK) */
export function hasDockerHealthcheck(info: Pick<ContainerInfo, 'Config' | 'State'>): boolean {
  const health = (info.State as { Health?: { Status?: string } }).Health?.Status;
  if (health && health !== 'none') return true;
  const test = info.Config.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
}

/** A health_path answer counts as healthy when it is 2xx or 3xx. */
export function healthyHttpStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

export interface ProbeResult {
  ok: boolean;
  /** what was seen, for logs and the failure message: "HTTP 503", "connect ECONNREFUSED", "timeout after 2000 ms" */
  detail: string;
}

/** One look at the candidate container (from inspect), plus a probe result when one ran. */
export interface Observation {
  exists: boolean;
  running: boolean;
  restarting: boolean;
  restartCount: number;
  /** created | running | restarting | exited | dead | … */
  status: string;
  exitCode: number;
  /** Docker health status: starting | healthy | unhealthy; undefined without a health check */
  health?: string;
  /** address on the instance network */
  ip?: string;
  probe?: ProbeResult;
}

export type Verdict =
  | { kind: 'healthy'; detail: string }
  | { kind: 'wait'; detail: string }
  | { kind: 'failed'; code: 'ROLLOUT_CONTAINER_EXITED' | 'ROLLOUT_UNHEALTHY'; detail: string };

export function observe(info: ContainerInfo | undefined, network: string): Observation {
  if (!info) return { exists: false, running: false, restarting: false, restartCount: 0, status: 'removed', exitCode: 0 };
  const s = info.State;
  const health = (s as { Health?: { Status?: string } }).Health?.Status;
  const ip = info.NetworkSettings.Networks[network]?.IPAddress;
  return {
    exists: true,
    running: s.Running,
    restarting: s.Restarting,
    restartCount: info.RestartCount ?? 0,
    status: s.Status,
    exitCode: s.ExitCode,
    ...(health && health !== 'none' ? { health } : {}),
    ...(ip ? { ip } : {}),
  };
}

/** true when the method needs a network probe for this observation to be judged */
export function needsProbe(method: HealthMethod, obs: Observation): boolean {
  return method.kind !== 'docker' && obs.running && !obs.restarting && obs.restartCount === 0 && obs.ip !== undefined;
}

export function judge(method: HealthMethod, obs: Observation): Verdict {
  if (!obs.exists) return { kind: 'failed', code: 'ROLLOUT_CONTAINER_EXITED', detail: 'the new container was removed' };
  // a restart policy hides a crash behind "restarting": a candidate that crashed once is not trusted
  if (obs.restarting || obs.restartCount > 0) return { kind: 'failed', code: 'ROLLOUT_CONTAINER_EXITED', detail: `the new container crashed and is being restarted (exit code ${obs.exitCode})` };
  if (!obs.running) {
    if (obs.status === 'created') return { kind: 'wait', detail: 'not started yet' };
    return { kind: 'failed', code: 'ROLLOUT_CONTAINER_EXITED', detail: `the new container exited with code ${obs.exitCode}` };
  }
  if (method.kind === 'docker') {
    if (obs.health === 'healthy') return { kind: 'healthy', detail: 'Docker health check: healthy' };
    if (obs.health === 'unhealthy') return { kind: 'failed', code: 'ROLLOUT_UNHEALTHY', detail: 'Docker health check: unhealthy' };
    return { kind: 'wait', detail: `Docker health check: ${obs.health ?? 'starting'}` };
  }
  if (obs.ip === undefined) return { kind: 'wait', detail: 'no address on the network yet' };
  if (!obs.probe) return { kind: 'wait', detail: 'not probed yet' };
  const what = method.kind === 'http' ? `GET ${method.path}` : 'TCP connect';
  return obs.probe.ok ? { kind: 'healthy', detail: `${what}: ${obs.probe.detail}` } : { kind: 'wait', detail: `${what}: ${obs.probe.detail}` };
}
