import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { LoadedMain, LoadedService } from './loaded.js';
import { classifyVolumeSource, resolveServiceFile, telemetryBaseUri } from './normalize-values.js';
import type { DependsOnCondition, DispenserConfig, HstsPolicy, ServiceConfig, TelemetrySettings } from './types.js';
import type { DispenserFile } from './schema.js';
import { proxyWorkers, STATE_DIR_NAME } from '../defaults.js';

export interface NormalizeOptions {
  /** dev mode keeps dependencies only on loaded services */
  loadedNames?: ReadonlySet<string>;
  exists: (path: string) => boolean;
  cpuCount?: number;
}

/** Schema-valid files → the frozen DispenserConfig (absolute paths, ms, bytes, nano-CPUs). */
export function normalizeConfig(main: LoadedMain, services: readonly LoadedService[], options: NormalizeOptions): DispenserConfig {
  const v = main.value;
  const p = v.proxy;
  const config: DispenserConfig = {
    configFile: main.file,
    baseDir: main.baseDir,
    stateDir: join(main.baseDir, STATE_DIR_NAME),
    delayMs: v.delay * 1000,
    networks: v.network.map((n) => ({ name: n.name, driver: n.driver, external: n.external, internal: n.internal, attachable: n.attachable, labels: { ...n.labels } })),
    proxy: {
      enabled: p.enabled,
      strategy: p.strategy,
      trustForwardedHeaders: p.trust_forwarded_headers,
      httpPort: p.http_port,
      httpsPort: p.https_port,
      bind: p.bind,
      workers: proxyWorkers(p.workers, options.cpuCount ?? availableParallelism()),
      accessLog: p.access_log,
      connectTimeoutMs: p.connect_timeout,
      upstreamTimeoutMs: p.upstream_timeout,
      shutdownTimeoutMs: p.shutdown_timeout,
      headerTimeoutMs: p.header_timeout,
      keepaliveTimeoutMs: p.keepalive_timeout,
      bodyTimeoutMs: p.body_timeout,
      sendTimeoutMs: p.send_timeout,
      http2IdleTimeoutMs: p.http2_idle_timeout,
    },
    ...(v.certbot ? { certbot: { email: v.certbot.email, directoryUrl: v.certbot.directory_url } } : {}),
    ...(v.telemetry ? { telemetry: telemetrySettings(v.telemetry, main.baseDir) } : {}),
    notify: v.notify.map((n) => ({ url: n.url, format: n.format, ...(n.events ? { events: [...new Set(n.events)] } : {}), ...(n.secret !== undefined ? { secret: n.secret } : {}) })),
    ...(v.metrics ? { metrics: { listen: { ...v.metrics.listen } } } : {}),
    services: services.map((s) => normalizeService(s, main.baseDir, options, p.enabled, p, v.host_docker_internal)),
  };
  return deepFreeze(config);
}

function telemetrySettings(t: NonNullable<DispenserFile['telemetry']>, baseDir: string): TelemetrySettings {
  const m = t.maintenance;
  return {
    enabled: t.enabled,
    baseUri: telemetryBaseUri(t.base_uri, baseDir),
    statusIntervalMs: t.status_interval * 1000,
    ...(m ? { maintenance: { enabled: m.enabled, intervalMs: m.interval_seconds * 1000, retentionHours: m.retention_hours } } : {}),
  };
}

/** A service's `hsts` keys override dispenser.toml's, each on its own. */
function hstsPolicy(own: { hsts?: number | false; hsts_include_subdomains?: boolean }, global: { hsts: number | false; hsts_include_subdomains: boolean }): HstsPolicy | undefined {
  const maxAge = own.hsts ?? global.hsts;
  if (maxAge === false) return undefined;
  return { maxAgeSeconds: maxAge, includeSubDomains: own.hsts_include_subdomains ?? global.hsts_include_subdomains };
}

function normalizeService(s: LoadedService, baseDir: string, options: NormalizeOptions, proxyEnabled: boolean, globalProxy: DispenserFile['proxy'], hostDockerInternal: boolean): ServiceConfig {
  const v = s.value;
  const svc = v.service;
  const dependsOn: Record<string, DependsOnCondition> = {};
  for (const [name, condition] of Object.entries(v.depends_on)) {
    if (options.loadedNames && !options.loadedNames.has(name)) continue;
    dependsOn[name] = condition;
  }
  const proxy = v.proxy;
  const hc = v.healthcheck;
  return {
    name: svc.name,
    dir: s.dir,
    file: s.file,
    image: svc.image,
    ...(svc.command ? { command: svc.command } : {}),
    ...(svc.entrypoint ? { entrypoint: svc.entrypoint } : {}),
    ...(svc.working_dir ? { workingDir: svc.working_dir } : {}),
    ...(svc.user ? { user: svc.user } : {}),
    ...(svc.hostname ? { hostname: svc.hostname } : {}),
    ...(svc.memory !== undefined ? { memoryBytes: svc.memory } : {}),
    ...(svc.cpus !== undefined ? { nanoCpus: svc.cpus } : {}),
    restart: svc.restart,
    ports: v.port.map((x) => ({ host: x.host, container: x.container })),
    volumes: v.volume.map((vol) => ({ ...classifyVolumeSource(vol.source, s.dir, options.exists), target: vol.target, readonly: vol.readonly })),
    env: { ...v.env },
    networks: v.network.map((n) => n.name),
    extraHosts: v.extra_host.map((h) => ({ hostname: h.hostname, ipv4: h.ipv4 })),
    hostDockerInternal,
    dispenser: {
      watch: v.dispenser.watch,
      initialize: v.dispenser.initialize,
      ...(v.dispenser.cron ? { cron: v.dispenser.cron.trim() } : {}),
      pull: v.dispenser.pull,
      // rollout needs the proxy to switch traffic and cannot run two containers on one host port
      strategy: v.dispenser.strategy ?? (proxy && proxyEnabled && v.port.length === 0 ? 'rollout' : 'recreate'),
    },
    dependsOn,
    ...(proxy
      ? {
          proxy: {
            host: proxy.host.toLowerCase(),
            path: proxy.path,
            servicePort: proxy.service_port,
            ...(proxy.cert_file ? { certFile: resolveServiceFile(proxy.cert_file, s.dir, baseDir, options.exists) } : {}),
            ...(proxy.key_file ? { keyFile: resolveServiceFile(proxy.key_file, s.dir, baseDir, options.exists) } : {}),
            ...(proxy.health_path ? { healthPath: proxy.health_path } : {}),
            healthIntervalMs: proxy.health_interval,
            healthTimeoutMs: proxy.health_timeout,
            deployTimeoutMs: proxy.deploy_timeout,
            drainTimeoutMs: proxy.drain_timeout,
            ...withHsts(hstsPolicy(proxy, globalProxy)),
          },
        }
      : {}),
    ...(hc
      ? {
          healthcheck: {
            test: hc.test,
            ...(hc.interval !== undefined ? { intervalMs: hc.interval } : {}),
            ...(hc.timeout !== undefined ? { timeoutMs: hc.timeout } : {}),
            ...(hc.start_period !== undefined ? { startPeriodMs: hc.start_period } : {}),
            ...(hc.retries !== undefined ? { retries: hc.retries } : {}),
          },
        }
      : {}),
  };
}

function withHsts(policy: HstsPolicy | undefined): { hsts?: HstsPolicy } {
  return policy ? { hsts: policy } : {};
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
