import type { DependsOnCondition, DeployStrategy, DispenserConfig, Initialize, PullPolicy, ServiceConfig } from '@dispenser/shared/config/types';
import { ownershipLabels, type InstanceIdentity } from '@dispenser/shared/instance';
import type { ContainerSpec } from '../docker/engine.js';
import { configHash } from './hash.js';

export interface NetworkAttachment {
  name: string;
  aliases: readonly string[];
}

/** Everything the planner and applier need to know about one declared service. */
export interface DesiredService {
  service: string;
  containerName: string;
  image: string;
  /** Docker create options, ownership labels included */
  spec: ContainerSpec;
  hash: string;
  /** first: the instance's dispenser network (set at create); the rest are connected before start */
  networks: readonly NetworkAttachment[];
  initialize: Initialize;
  pull: PullPolicy;
  /** how a new container replaces the old one; 'rollout' only for proxied services */
  strategy: DeployStrategy;
  /** has a [proxy] table: it serves as long as it runs, it never "completes" */
  proxied: boolean;
  dependsOn: Readonly<Record<string, DependsOnCondition>>;
}

export interface DesiredOptions {
  /** extra labels on every container (tests add dispenser.test=<area>) */
  extraLabels?: Readonly<Record<string, string>>;
}

/**
 * The default instance names containers after their service; another instance prefixes its name
 * so a `dispenser dev` or a test run beside production never collides with its containers.
 */
export function containerNameFor(instance: InstanceIdentity, service: string): string {
  return instance.name === 'default' ? service : `${instance.name}-${service}`;
}

const nsPerMs = 1_000_000;

/** the container create options, without the config-hash label (that is computed from them) */
function baseSpec(svc: ServiceConfig, instance: InstanceIdentity, networks: readonly NetworkAttachment[], options: DesiredOptions): ContainerSpec {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostPort: string }>> = {};
  for (const p of svc.ports) {
    const key = `${p.container}/tcp`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostPort: String(p.host) });
  }
  const primary = networks[0];
  return {
    name: containerNameFor(instance, svc.name),
    Image: svc.image,
    Cmd: svc.command ? [...svc.command] : undefined,
    Entrypoint: svc.entrypoint ? [...svc.entrypoint] : undefined,
    WorkingDir: svc.workingDir,
    User: svc.user,
    Hostname: svc.hostname,
    Env: Object.entries(svc.env)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`),
    ExposedPorts: svc.ports.length ? exposed : undefined,
    Labels: { ...options.extraLabels },
    Healthcheck: svc.healthcheck
      ? {
          Test: [...svc.healthcheck.test],
          Interval: svc.healthcheck.intervalMs === undefined ? undefined : svc.healthcheck.intervalMs * nsPerMs,
          Timeout: svc.healthcheck.timeoutMs === undefined ? undefined : svc.healthcheck.timeoutMs * nsPerMs,
          StartPeriod: svc.healthcheck.startPeriodMs === undefined ? undefined : svc.healthcheck.startPeriodMs * nsPerMs,
          Retries: svc.healthcheck.retries,
        }
      : undefined,
    HostConfig: {
      Memory: svc.memoryBytes,
      NanoCpus: svc.nanoCpus,
      RestartPolicy: { Name: svc.restart === 'no' ? 'no' : svc.restart },
      PortBindings: svc.ports.length ? bindings : undefined,
      // Mounts, not Binds: Docker would create a missing bind source owned by root; the applier
      // creates it beforehand (reconcile/bind-sources.ts), owned by Dispenser's user
      Mounts: svc.volumes.map((v) => ({ Type: v.kind, Source: v.source, Target: v.target, ReadOnly: v.readonly })),
      ExtraHosts: extraHosts(svc),
      NetworkMode: primary?.name,
    },
    NetworkingConfig: primary ? { EndpointsConfig: { [primary.name]: { Aliases: [...primary.aliases] } } } : undefined,
  };
}

const HOST_DOCKER_INTERNAL = 'host.docker.internal';

/**
 * [[extra_host]] entries, after host.docker.internal → the host (Docker's host-gateway), which the
 * original Dispenser gave every container; an [[extra_host]] of that name replaces it.
 */
function extraHosts(svc: ServiceConfig): string[] | undefined {
  const own = svc.extraHosts.map((h) => `${h.hostname}:${h.ipv4}`);
  const all = svc.hostDockerInternal && !svc.extraHosts.some((h) => h.hostname === HOST_DOCKER_INTERNAL) ? [DEFAULT_HOST_GATEWAY, ...own] : own;
  return all.length ? all : undefined;
}

const DEFAULT_HOST_GATEWAY = `${HOST_DOCKER_INTERNAL}:host-gateway`;

function withoutDefaultHostGateway(spec: ContainerSpec): ContainerSpec {
  const hosts = spec.HostConfig?.ExtraHosts;
  if (!hosts?.includes(DEFAULT_HOST_GATEWAY)) return spec;
  const rest = hosts.filter((h: string) => h !== DEFAULT_HOST_GATEWAY);
  return { ...spec, HostConfig: { ...spec.HostConfig, ExtraHosts: rest.length ? rest : undefined } };
}

export function desiredService(svc: ServiceConfig, instance: InstanceIdentity, options: DesiredOptions = {}): DesiredService {
  const networks: NetworkAttachment[] = [
    { name: instance.network.name, aliases: [svc.name] },
    ...svc.networks.filter((n) => n !== instance.network.name).map((name) => ({ name, aliases: [svc.name] })),
  ];
  const spec = baseSpec(svc, instance, networks, options);
  // The hash covers what the container is made of, including its networks and extra labels,
  // except the host.docker.internal entry added by default: containers made before Dispenser
  // added it are adopted as they are (an upgrade must not restart every service) and get it at
  // their next recreate. Turning it off is in the hash, so that recreates them without it.
  const hash = configHash({ spec: withoutDefaultHostGateway(spec), networks, ...(svc.hostDockerInternal ? {} : { hostDockerInternal: false }) });
  spec.Labels = { ...spec.Labels, ...ownershipLabels(instance, svc.name, hash) };
  return {
    service: svc.name,
    containerName: spec.name,
    image: svc.image,
    spec,
    hash,
    networks,
    initialize: svc.dispenser.initialize,
    pull: svc.dispenser.pull,
    strategy: svc.proxy ? svc.dispenser.strategy : 'recreate',
    proxied: svc.proxy !== undefined,
    dependsOn: svc.dependsOn,
  };
}

export function desiredServices(config: DispenserConfig, instance: InstanceIdentity, options: DesiredOptions = {}): DesiredService[] {
  return config.services.map((s) => desiredService(s, instance, options));
}
