import type { ServiceConfig } from '@dispenser/shared/config/types';
import type { CertificateFacts, ContainerFacts, DeployFacts, ServiceFacts } from '@dispenser/shared/control/facts';
import type { ContainerInfo } from '../docker/engine.js';

/** What `dispenser status` needs of a certificate (certs/status.ts HostCertStatus). */
export interface CertificateState {
  host: string;
  source: string;
  notAfter?: Date;
  error?: { code: string };
}

/** Everything known about one service, before it is turned into facts. */
export interface ServiceObservation {
  service: ServiceConfig;
  container: ContainerInfo | undefined;
  /** why the container could not be inspected */
  inspectError?: string;
  runningDigest: string | undefined;
  availableDigest: string | undefined;
  lastDeploy: DeployFacts | undefined;
  nextRun: Date | undefined;
  /** every host with a certificate status; the service's own are picked here */
  certificates: readonly CertificateState[];
}

const DOCKER_HEALTH = new Set(['healthy', 'unhealthy', 'starting']);

/** Pure: the facts of one container from its inspection. */
export function containerFacts(info: ContainerInfo): ContainerFacts {
  const health = info.State.Health?.Status;
  const started = info.State.StartedAt;
  return {
    id: info.Id.slice(0, 12),
    state: info.State.Status,
    health: health && DOCKER_HEALTH.has(health) ? (health as ContainerFacts['health']) : 'none',
    // Docker reports "0001-01-01T00:00:00Z" for a container that never started
    startedAt: started && !started.startsWith('0001-') ? started : null,
    exitCode: info.State.Running ? null : info.State.ExitCode,
  };
}

/** Pure: a service's facts for `dispenser status`. */
export function serviceFacts(o: ServiceObservation): ServiceFacts {
  const svc = o.service;
  const routes = svc.proxy ? [{ host: svc.proxy.host, path: svc.proxy.path }] : [];
  const hosts = new Set(routes.map((r) => r.host));
  const certificates: CertificateFacts[] = o.certificates
    .filter((c) => hosts.has(c.host))
    .map((c) => ({ host: c.host, source: c.source, notAfter: c.notAfter?.toISOString() ?? null, ...(c.error ? { error: c.error.code } : {}) }));
  return {
    name: svc.name,
    image: svc.image,
    job: svc.dispenser.cron !== undefined || svc.dispenser.initialize === 'on-trigger',
    container: o.container ? containerFacts(o.container) : null,
    inspectError: o.inspectError ?? null,
    runningDigest: o.runningDigest ?? null,
    availableDigest: o.availableDigest ?? null,
    lastDeploy: o.lastDeploy ?? null,
    routes,
    cron: svc.dispenser.cron ?? null,
    nextRun: o.nextRun?.toISOString() ?? null,
    certificates,
  };
}
