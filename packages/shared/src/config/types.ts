/**
 * The normalized, frozen configuration every other package consumes.
 * Produced only by the config pipeline (load.ts); durations are milliseconds, memory is bytes,
 * CPUs are nano-CPUs, and every path is absolute.
 */

export type ProxyStrategy = 'https-only' | 'http-only' | 'both';
export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped';
export type Initialize = 'immediately' | 'on-trigger';
export type PullPolicy = 'on-startup' | 'always';
/** rollout: start new beside old, health-gate, switch route, drain (proxied services). recreate: stop then start. */
export type DeployStrategy = 'rollout' | 'recreate';
export type DependsOnCondition = 'started' | 'completed' | 'healthy';
export type NetworkDriver = 'bridge' | 'host' | 'overlay' | 'macvlan' | 'none';

export interface ProxySettings {
  enabled: boolean;
  strategy: ProxyStrategy;
  trustForwardedHeaders: boolean;
  httpPort: number;
  httpsPort: number;
  bind: string;
  /** number of proxy worker processes */
  workers: number;
  accessLog: boolean;
  /** time to open a TCP connection to an upstream before answering 502 */
  connectTimeoutMs: number;
  /** time an upstream may take to answer before 504 */
  upstreamTimeoutMs: number;
  /** on stop: how long in-flight requests may take to finish */
  shutdownTimeoutMs: number;
  /** a client must send a request's headers (and finish a TLS handshake) within this, else 408 and close; 0 = off */
  headerTimeoutMs: number;
  /** an HTTP/1.1 connection idle between requests is closed after this; 0 = off */
  keepaliveTimeoutMs: number;
  /** time without a byte of request body (while the proxy is reading) before 408 and close; 0 = off */
  bodyTimeoutMs: number;
  /** time a client may take nothing of a response the proxy has ready before it is dropped */
  sendTimeoutMs: number;
  /** an HTTP/2 session with no open stream for this long gets GOAWAY; 0 = off */
  http2IdleTimeoutMs: number;
}

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
  dispenser: ServiceDispenserConfig;
  dependsOn: Readonly<Record<string, DependsOnCondition>>;
  proxy?: ServiceProxyConfig;
  healthcheck?: HealthcheckConfig;
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
  services: readonly ServiceConfig[];
}

/** The default network every managed container joins (SPEC §4). */
export const DEFAULT_NETWORK = Object.freeze({
  name: 'dispenser',
  subnet: '172.28.0.0/16',
  gateway: '172.28.0.1',
});
