/**
 * The normalized, frozen configuration every other package consumes.
 * Produced only by the config pipeline (load.ts); durations are milliseconds, memory is bytes,
 * CPUs are nano-CPUs, and every path is absolute.
 */
import type { MetricsSettings, ProxySettings } from '../ipc/messages.js';

/** Declared once, by its IPC schema (the proxy workers receive it as is). */
export type { ProxySettings };
export type ProxyStrategy = ProxySettings['strategy'];

export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped';
export type Initialize = 'immediately' | 'on-trigger';
export type PullPolicy = 'on-startup' | 'always';
/** rollout: start new beside old, health-gate, switch route, drain (proxied services). recreate: stop then start. */
export type DeployStrategy = 'rollout' | 'recreate';
export type DependsOnCondition = 'started' | 'completed' | 'healthy';
export type NetworkDriver = 'bridge' | 'host' | 'overlay' | 'macvlan' | 'none';

/** Strict-Transport-Security for a service's HTTPS responses. */
export interface HstsPolicy {
  maxAgeSeconds: number;
  includeSubDomains: boolean;
}

export interface CertbotSettings {
  email: string;
  directoryUrl: string;
}

/** [telemetry]: accepted and checked; nothing writes the tables yet (a start-up warning says so). */
export interface TelemetrySettings {
  enabled: boolean;
  /** a file://, s3://, gs://, az:// or adls:// URI without a trailing slash; paths become file:// URIs */
  baseUri: string;
  statusIntervalMs: number;
  maintenance?: {
    enabled: boolean;
    intervalMs: number;
    retentionHours: number;
  };
}

export interface NetworkConfig {
  name: string;
  driver: NetworkDriver;
  external: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Readonly<Record<string, string>>;
}

export interface PortMapping {
  host: number;
  container: number;
}

export interface VolumeMount {
  /** absolute host path for binds, or a volume name */
  source: string;
  kind: 'bind' | 'volume';
  target: string;
  readonly: boolean;
}

export interface ExtraHost {
  hostname: string;
  ipv4: string;
}

export interface HealthcheckConfig {
  test: readonly string[];
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  retries?: number;
}

export interface ServiceProxyConfig {
  host: string;
  /** path prefix, always starting with '/', no trailing slash except for '/' itself */
  path: string;
  servicePort: number;
  certFile?: string;
  keyFile?: string;
  healthPath?: string;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  deployTimeoutMs: number;
  drainTimeoutMs: number;
  /** the service's own hsts setting, else dispenser.toml's; absent = no header */
  hsts?: HstsPolicy;
}

export interface ServiceDispenserConfig {
  watch: boolean;
  initialize: Initialize;
  cron?: string;
  pull: PullPolicy;
  strategy: DeployStrategy;
}

export interface ServiceConfig {
  name: string;
  /** absolute service directory */
  dir: string;
  /** absolute path of the service.toml */
  file: string;
  image: string;
  command?: readonly string[];
  entrypoint?: readonly string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  memoryBytes?: number;
  nanoCpus?: number;
  restart: RestartPolicy;
  ports: readonly PortMapping[];
  volumes: readonly VolumeMount[];
  env: Readonly<Record<string, string>>;
  networks: readonly string[];
  extraHosts: readonly ExtraHost[];
  /** the container resolves host.docker.internal to the host (dispenser.toml host_docker_internal) */
  hostDockerInternal: boolean;
  dispenser: ServiceDispenserConfig;
  dependsOn: Readonly<Record<string, DependsOnCondition>>;
  proxy?: ServiceProxyConfig;
  healthcheck?: HealthcheckConfig;
}

/**
 * What a [[notify]] target can be told about, in the order the docs list them. The config's
 * `events` filter is checked against this list; the orchestrator emits exactly these.
 */
export const NOTIFY_EVENTS = [
  'deploy-succeeded',
  'deploy-failed',
  'deploy-rolled-back',
  'container-exited',
  'cron-failed',
  'cert-renewal-failed',
  'cert-expiring',
  'registry-auth-failed',
  'reload-rejected',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];
/** json: Dispenser's own body; slack: an incoming-webhook `{ text }`; ntfy: a plain-text message with Title/Tags/Priority headers */
export type NotifyFormat = 'json' | 'slack' | 'ntfy';

/** One [[notify]] webhook. */
export interface NotifyTarget {
  /** http:// or https://; its path and query may carry a token, so logs show only its origin */
  url: string;
  format: NotifyFormat;
  /** absent: every event */
  events?: readonly NotifyEventName[];
  /** signs each body (HMAC-SHA256); a secret value, scrubbed by the config's redactor */
  secret?: string;
}

/** Declared once, by its IPC message (the supervisor opens the listener). */
export interface MetricsConfig {
  listen: NonNullable<MetricsSettings['listen']>;
}

export interface DispenserConfig {
  /** absolute path of dispenser.toml */
  configFile: string;
  /** directory of dispenser.toml; relative paths resolve from here */
  baseDir: string;
  /** state directory: baseDir/.dispenser */
  stateDir: string;
  delayMs: number;
  networks: readonly NetworkConfig[];
  proxy: ProxySettings;
  certbot?: CertbotSettings;
  telemetry?: TelemetrySettings;
  notify: readonly NotifyTarget[];
  /** [metrics]; absent: no metrics listener */
  metrics?: MetricsConfig;
  services: readonly ServiceConfig[];
}
