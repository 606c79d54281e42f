import { z } from 'zod';
import { orchestratorFactsSchema, serviceFactsSchema, type OrchestratorFacts, type ServiceFacts } from './facts.js';

/**
 * `dispenser status`: the daemon's facts and the orchestrator's, put together, with one decision
 * per service of whether it is degraded and why. Pure: the supervisor calls it with what it knows
 * and what the orchestrator answered; tests drive it with plain data.
 */

const serviceStatusSchema = serviceFactsSchema.extend({
  /** what the service row shows: Docker's state, 'missing' (no container), 'waiting' (a job not triggered yet) or 'unknown' (Docker cannot be asked) */
  state: z.string(),
  /** why the service is degraded; empty when it is not */
  problems: z.array(z.string()),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

const daemonStatusSchema = z.strictObject({
  version: z.string(),
  pid: z.number().int(),
  /** ISO time the supervisor started */
  startedAt: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
  /** every child has reported ready once */
  ready: z.boolean(),
  orchestrator: z.enum(['running', 'unavailable']),
  /** null while the orchestrator cannot answer */
  configGeneration: z.number().int().nullable(),
  busyWith: z.array(z.string()),
  /** why the daemon itself is degraded; empty when it is not */
  problems: z.array(z.string()),
});
export type DaemonStatus = z.infer<typeof daemonStatusSchema>;

export const statusSchema = z.strictObject({
  daemon: daemonStatusSchema,
  /** null while the orchestrator cannot answer: the services are unknown, not gone */
  services: z.array(serviceStatusSchema).nullable(),
  /** anything declared is not running and healthy, or the daemon cannot tell */
  degraded: z.boolean(),
});
export type Status = z.infer<typeof statusSchema>;

/** What the supervisor knows by itself. */
export interface DaemonFacts {
  version: string;
  pid: number;
  startedAt: Date;
  ready: boolean;
}

/** The orchestrator's answer, or why there is none. */
export type OrchestratorAnswer = { ok: true; facts: OrchestratorFacts } | { ok: false; reason: string };

export function assembleStatus(daemon: DaemonFacts, answer: OrchestratorAnswer, now: Date): Status {
  const problems: string[] = [];
  if (!answer.ok) problems.push(`the orchestrator cannot answer: ${answer.reason}`);
  else if (!daemon.ready) problems.push('still starting');
  const services = answer.ok ? answer.facts.services.map((s) => serviceStatus(s, now)) : null;
  return {
    daemon: {
      version: daemon.version,
      pid: daemon.pid,
      startedAt: daemon.startedAt.toISOString(),
      uptimeSeconds: Math.max(0, Math.floor((now.getTime() - daemon.startedAt.getTime()) / 1000)),
      ready: daemon.ready,
      orchestrator: answer.ok ? 'running' : 'unavailable',
      configGeneration: answer.ok ? answer.facts.configGeneration : null,
      busyWith: answer.ok ? answer.facts.busyWith : [],
      problems,
    },
    services,
    degraded: problems.length > 0 || (services ?? []).some((s) => s.problems.length > 0),
  };
}

export function serviceStatus(facts: ServiceFacts, now: Date): ServiceStatus {
  return { ...facts, state: stateOf(facts), problems: serviceProblems(facts, now) };
}

function stateOf(facts: ServiceFacts): string {
  if (facts.container) return facts.container.state;
  if (facts.inspectError !== null) return 'unknown';
  return facts.job ? 'waiting' : 'missing';
}

/**
 * Why a service is degraded. A long-running service must run and pass its health check (or have
 * none); a job (cron, on-trigger) may also be waiting for its first trigger or have exited 0. A
 * failed last deploy, a certificate failure or an expired certificate count for both.
 */
export function serviceProblems(facts: ServiceFacts, now: Date): string[] {
  const out: string[] = [];
  const c = facts.container;
  if (facts.inspectError !== null) {
    out.push(`cannot inspect its container: ${facts.inspectError}`);
  } else if (facts.job) {
    if (c && c.state !== 'running' && c.exitCode !== null && c.exitCode !== 0) out.push(`last run exited with code ${c.exitCode}`);
  } else if (!c) {
    out.push('no container');
  } else if (c.state !== 'running') {
    out.push(c.exitCode !== null && c.state === 'exited' ? `exited with code ${c.exitCode}` : `container ${c.state}`);
  }
  if (c?.state === 'running' && c.health === 'unhealthy') out.push('health check failing');
  if (c?.state === 'running' && c.health === 'starting') out.push('health check not passed yet');
  if (facts.lastDeploy?.result === 'failed') out.push(`last deploy failed${facts.lastDeploy.code ? ` [${facts.lastDeploy.code}]` : ''}`);
  for (const cert of facts.certificates) {
    if (cert.notAfter !== null && Date.parse(cert.notAfter) <= now.getTime()) out.push(`certificate for ${cert.host} expired`);
    else if (cert.notAfter === null) out.push(`no certificate for ${cert.host}${cert.error ? ` [${cert.error}]` : ''}`);
    else if (cert.error) out.push(`certificate for ${cert.host} cannot be renewed [${cert.error}]`);
  }
  return out;
}

/** Whether anything but the uptime differs: `status --watch` sends a status only then. */
export function statusChanged(a: Status, b: Status): boolean {
  const strip = (s: Status): Status => ({ ...s, daemon: { ...s.daemon, uptimeSeconds: 0 } });
  return JSON.stringify(strip(a)) !== JSON.stringify(strip(b));
}
