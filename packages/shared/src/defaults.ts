import type { ProxySettings } from './ipc/messages.js';

/**
 * Every default Dispenser falls back to, in one place: the config schema fills unset keys from
 * here, and the supervisor, the proxy workers and the orchestrator read the same values for what
 * they need before (or without) a configuration. The user manual lists them
 * (docs/configuration/*.md); a test checks its tables against this module.
 *
 * Zod-free and import-free at run time (ProxySettings is a type): a proxy worker reads it before
 * anything else, and must not load the schemas.
 */

// ---- paths -------------------------------------------------------------------------------------

/** `-c/--config` when not given: this name in the working directory (as the original Dispenser)… */
export const CONFIG_FILE_NAME = 'dispenser.toml';
/** …or, when the working directory has none, the packages' configuration. */
export const PACKAGED_CONFIG_FILE = '/opt/dispenser/dispenser.toml';
/** The pid file's name, next to dispenser.toml unless `-p` says otherwise. */
export const PID_FILE_NAME = 'dispenser.pid';
/** The state directory's name (certificates, ACME account, rollout journal), in the base dir. */
export const STATE_DIR_NAME = '.dispenser';
/** The control socket's name, in the state directory (docs/reference/control-protocol.md). */
export const CONTROL_SOCKET_NAME = 'control.sock';
/** The deploy ledger's name, in the state directory (docs/operations.md, `dispenser history`). */
export const LEDGER_FILE_NAME = 'ledger.jsonl';
/**
 * The ledger keeps at least this many of the newest entries; it is rewritten down to this many
 * when it holds twice as many, so the file stays bounded without rewriting it on every deploy.
 */
export const LEDGER_KEEP_ENTRIES = 10_000;
/** How long the supervisor waits for the orchestrator's answer to a control request. */
export const CONTROL_ORCHESTRATOR_TIMEOUT_MS = 5_000;
/** `dispenser status --watch`: how often the daemon looks for a change. */
export const STATUS_WATCH_INTERVAL_MS = 2_000;
/** `dispenser logs -f` of a stopped container: how often to look whether it runs again or is gone. */
export const LOGS_FOLLOW_RESTART_POLL_MS = 500;
/**
 * Open control connections at most: past this a new one is closed at once, so that a client
 * leaking connections cannot take every file descriptor the supervisor needs for its children.
 */
export const MAX_CONTROL_CONNECTIONS = 128;

// ---- dispenser.toml ----------------------------------------------------------------------------

/** `delay`: seconds between registry polls. */
export const POLL_DELAY_S = 60;

/** `host_docker_internal`: every container resolves host.docker.internal to the host. */
export const HOST_DOCKER_INTERNAL = true;

/**
 * `[proxy]`, as the proxy workers receive it. `workers` is not here: its default depends on the
 * machine (proxyWorkers).
 */
export const PROXY_DEFAULTS: Readonly<Omit<ProxySettings, 'workers'>> = Object.freeze({
  enabled: true,
  strategy: 'https-only',
  trustForwardedHeaders: false,
  httpPort: 80,
  httpsPort: 443,
  bind: '0.0.0.0',
  accessLog: false,
  connectTimeoutMs: 5_000,
  upstreamTimeoutMs: 60_000,
  shutdownTimeoutMs: 10_000,
  // the client-side timeouts are nginx's (client_header_timeout, keepalive_timeout,
  // client_body_timeout, send_timeout); HTTP/2 idle as HTTP/1.1 keep-alive
  headerTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  http2IdleTimeoutMs: 75_000,
});

/** `[proxy] hsts` and `hsts_include_subdomains`: no Strict-Transport-Security header. */
export const HSTS_DEFAULTS = Object.freeze({ hsts: false as const, includeSubDomains: false });

/**
 * `[proxy] workers`: the configured count, else one worker per CPU the process may use
 * (os.availableParallelism(), which the caller passes in so this stays pure). The only place the
 * count is resolved; everything after the config pipeline reads ProxySettings.workers as is.
 */
export function proxyWorkers(configured: number | undefined, cpuCount: number): number {
  return configured ?? cpuCount;
}

/** Whole proxy settings from the defaults, e.g. for a proxy worker before its first settings arrive. */
export function defaultProxySettings(workers: number): ProxySettings {
  return { ...PROXY_DEFAULTS, workers };
}

/** `[certbot] directory_url` */
export const ACME_DIRECTORY_URL = 'https://acme-v02.api.letsencrypt.org/directory';

/** The bridge network every managed container joins (SPEC §4). */
export const DEFAULT_NETWORK = Object.freeze({
  name: 'dispenser',
  subnet: '172.28.0.0/16',
  gateway: '172.28.0.1',
});

/**
 * `[[notify]]`: the format when unset, and how deliveries behave (not configurable, documented in
 * operations.md): each target keeps at most `queueSize` notifications waiting (the oldest is
 * dropped beyond), tries each one `attempts` times with doubling delays from `retryBaseMs` up to
 * `retryMaxMs`, and gives a request `timeoutMs` to be answered.
 */
export const NOTIFY_DEFAULTS = Object.freeze({
  format: 'json' as const,
  queueSize: 1000,
  attempts: 6,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  timeoutMs: 10_000,
});
/** `cert-expiring` is told when a certificate that could not be renewed expires within this. */
export const NOTIFY_CERT_EXPIRING_MS = 14 * 24 * 60 * 60 * 1000;

// ---- service.toml ------------------------------------------------------------------------------

/** A service's `[proxy]` keys (durations in ms). */
export const SERVICE_PROXY_DEFAULTS = Object.freeze({
  path: '/',
  healthIntervalMs: 1_000,
  healthTimeoutMs: 2_000,
  deployTimeoutMs: 120_000,
  drainTimeoutMs: 30_000,
});

// ---- not configurable, documented --------------------------------------------------------------

/** A child still running this long after its drain timeout is killed (docs/cli.md). */
export const KILL_GRACE_MS = 2_000;
/**
 * How often the TLS session ticket keys are replaced (guides/reverse-proxy.md): it bounds how long
 * a leaked key (or a recorded ticket) can decrypt anything. Node holds one key set at a time, so a
 * rotation costs each returning client one full handshake.
 */
export const TICKET_KEY_ROTATION_MS = 12 * 60 * 60 * 1000;
/** `docker stop`'s grace before SIGKILL when Dispenser stops a container (as Docker's own default). */
export const CONTAINER_STOP_TIMEOUT_S = 10;
/** How long a service waits for its `depends_on` conditions before DEPENDENCY_TIMEOUT. */
export const DEPENDENCY_TIMEOUT_MS = 5 * 60_000;
/** How long the orchestrator waits for every proxy worker to confirm a route table. */
export const ROUTES_CONFIRM_TIMEOUT_MS = 15_000;
/** Retry of per-service faults and of a lost Docker engine: doubling from base up to max. */
export const FAULT_RETRY = Object.freeze({ baseMs: 2_000, maxMs: 60_000 });

/**
 * How long a scrape of the metrics listener waits for each child's numbers. A child that has not
 * answered by then (stuck, restarting) is reported as down (dispenser_up 0, /healthz 503) rather
 * than holding the scrape; Prometheus's own scrape timeout is 10 s by default.
 */
export const METRICS_SCRAPE_TIMEOUT_MS = 2_000;
