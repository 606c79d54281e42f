import { z } from 'zod';
import { orchestratorFactsSchema } from '../control/facts.js';
import { TICKET_KEYS_BYTES, openEnvelope, snapshotKinds } from './envelope.js';

export { PROTOCOL_VERSION, TICKET_KEYS_BYTES, envelope, isSnapshot, messageTypes, openEnvelope, snapshotKinds, type Envelope, type SnapshotKind } from './envelope.js';

/**
 * The IPC protocol between orchestrator, supervisor and proxy workers.
 * Snapshots are always whole and versioned: a receiver replaces what it had, never merges, and
 * ignores a version older than the one it holds. The supervisor and the orchestrator validate
 * every message on receipt (parseMessage) because a child process is another program as far as
 * trust goes; proxy workers only open the envelope (envelope.ts), which keeps zod out of them.
 */

const upstream = z.strictObject({
  /** container IP on the dispenser network, or 127.0.0.1 in tests */
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type Upstream = z.infer<typeof upstream>;

const route = z.strictObject({
  service: z.string(),
  /** lower-case host name, no port */
  host: z.string(),
  /** path prefix starting with '/' */
  path: z.string(),
  /**
   * null: the service is declared but has no running container (exited, not started yet, or the
   * Docker engine cannot be asked). The proxy answers 503 for it instead of 404, which is kept for
   * hosts and paths no service declares.
   */
  upstream: upstream.nullable(),
  /** Strict-Transport-Security for this route's HTTPS responses; absent = none added */
  hsts: z.strictObject({ maxAgeSeconds: z.number().int().nonnegative(), includeSubDomains: z.boolean() }).optional(),
});
export type Route = z.infer<typeof route>;

const routesSnapshot = z.strictObject({
  type: z.literal('routes'),
  version: z.number().int().nonnegative(),
  routes: z.array(route),
});
export type RoutesSnapshot = z.infer<typeof routesSnapshot>;

const certEntry = z.strictObject({
  /** host names (exact, lower-case; a leading '*.' is a wildcard) this certificate serves */
  hosts: z.array(z.string()),
  certPem: z.string(),
  keyPem: z.string(),
});
export type CertEntry = z.infer<typeof certEntry>;

const certsSnapshot = z.strictObject({
  type: z.literal('certs'),
  version: z.number().int().nonnegative(),
  certs: z.array(certEntry),
});
export type CertsSnapshot = z.infer<typeof certsSnapshot>;

const challengesSnapshot = z.strictObject({
  type: z.literal('challenges'),
  version: z.number().int().nonnegative(),
  /** ACME HTTP-01 token → key authorization */
  tokens: z.record(z.string(), z.string()),
});
export type ChallengesSnapshot = z.infer<typeof challengesSnapshot>;

/**
 * The proxy settings, as the config pipeline produces them (DispenserConfig.proxy) and the proxy
 * workers receive them. Durations in ms. This schema is their only declaration: the type is
 * inferred from it, so a field cannot be known to the type checker and missing from validation.
 */
const proxySettings = z.strictObject({
  enabled: z.boolean(),
  strategy: z.enum(['https-only', 'http-only', 'both']),
  trustForwardedHeaders: z.boolean(),
  httpPort: z.number().int(),
  httpsPort: z.number().int(),
  bind: z.string(),
  /** number of proxy worker processes, resolved by the config pipeline (defaults.ts proxyWorkers) */
  workers: z.number().int(),
  accessLog: z.boolean(),
  /** time to open a TCP connection to an upstream before answering 502 */
  connectTimeoutMs: z.number().int(),
  /** time an upstream may take to answer before 504 */
  upstreamTimeoutMs: z.number().int(),
  /** on stop: how long in-flight requests may take to finish */
  shutdownTimeoutMs: z.number().int(),
  /** a client must send a request's headers (and finish a TLS handshake) within this, else 408 and close; 0 = off */
  headerTimeoutMs: z.number().int().nonnegative(),
  /** an HTTP/1.1 connection idle between requests is closed after this; 0 = off */
  keepaliveTimeoutMs: z.number().int().nonnegative(),
  /** time without a byte of request body (while the proxy is reading) before 408 and close; 0 = off */
  bodyTimeoutMs: z.number().int().nonnegative(),
  /** time a client may take nothing of a response the proxy has ready before it is dropped */
  sendTimeoutMs: z.number().int().nonnegative(),
  /** an HTTP/2 session with no open stream for this long gets GOAWAY; 0 = off */
  http2IdleTimeoutMs: z.number().int().nonnegative(),
});
export type ProxySettings = z.infer<typeof proxySettings>;

const proxySettingsSnapshot = z.strictObject({
  type: z.literal('proxy-settings'),
  version: z.number().int().nonnegative(),
  settings: proxySettings,
});
export type ProxySettingsSnapshot = z.infer<typeof proxySettingsSnapshot>;

/**
 * TLS session ticket keys. Made by the supervisor, not the orchestrator: every worker encrypts and
 * decrypts session tickets with the same keys, so a client resumes its TLS session whichever
 * worker the kernel hands its next connection to.
 */
const ticketKeysSnapshot = z.strictObject({
  type: z.literal('tls-ticket-keys'),
  version: z.number().int().nonnegative(),
  /** 48 random bytes, base64 (the format of tls.Server#setTicketKeys) */
  keys: z.string().refine((s) => Buffer.from(s, 'base64').length === TICKET_KEYS_BYTES, `expected ${TICKET_KEYS_BYTES} bytes, base64`),
});
export type TicketKeysSnapshot = z.infer<typeof ticketKeysSnapshot>;

export type Snapshot = RoutesSnapshot | CertsSnapshot | ChallengesSnapshot | ProxySettingsSnapshot | TicketKeysSnapshot;

/** worker → supervisor: this worker now serves that snapshot version */
const ack = z.strictObject({
  type: z.literal('ack'),
  kind: z.enum(snapshotKinds),
  version: z.number().int().nonnegative(),
  worker: z.number().int(),
});
export type Ack = z.infer<typeof ack>;

/** supervisor → orchestrator: every live worker has acknowledged this version of `kind` */
const applied = z.strictObject({
  type: z.literal('applied'),
  kind: z.enum(snapshotKinds),
  version: z.number().int().nonnegative(),
});
export type Applied = z.infer<typeof applied>;

const ready = z.strictObject({
  type: z.literal('ready'),
  component: z.enum(['orchestrator', 'proxy']),
  worker: z.number().int().optional(),
});
/** supervisor → orchestrator: re-read config and reconcile */
const reload = z.strictObject({ type: z.literal('reload') });
/** orchestrator → supervisor: outcome of a reload, so the supervisor can notify systemd / log */
const reloaded = z.strictObject({
  type: z.literal('reloaded'),
  ok: z.boolean(),
  errors: z.array(z.string()),
});
/** supervisor → any child: stop accepting, finish in-flight work within timeoutMs, then exit */
const drain = z.strictObject({ type: z.literal('drain'), timeoutMs: z.number().int().nonnegative() });
/** any child → supervisor: unrecoverable; do not restart in a loop */
const fatal = z.strictObject({
  type: z.literal('fatal'),
  component: z.enum(['orchestrator', 'proxy']),
  code: z.string(),
  message: z.string(),
});

/*
 * Control requests (`dispenser status`, `dispenser logs`) the supervisor passes on from its control
 * socket (docs/reference/control-protocol.md). `id` is the supervisor's own, unique for its
 * lifetime; every answer carries the id of its request.
 */

/** supervisor → orchestrator: send your facts for `dispenser status` */
const statusRequest = z.strictObject({ type: z.literal('status-request'), id: z.number().int() });
/** orchestrator → supervisor */
const statusReply = z.strictObject({ type: z.literal('status-reply'), id: z.number().int(), facts: orchestratorFactsSchema });
/** supervisor → orchestrator: stream this service's container output (`dispenser logs`) */
const logsRequest = z.strictObject({
  type: z.literal('logs-request'),
  id: z.number().int(),
  service: z.string(),
  follow: z.boolean(),
  tail: z.number().int().nonnegative().optional(),
  /** Unix seconds */
  since: z.number().int().nonnegative().optional(),
});
/** orchestrator → supervisor: a piece of output, secrets already redacted */
const logsChunk = z.strictObject({ type: z.literal('logs-chunk'), id: z.number().int(), stream: z.enum(['stdout', 'stderr']), text: z.string() });
/** orchestrator → supervisor: the stream is over (the container's output ended, or it failed) */
const logsEnd = z.strictObject({
  type: z.literal('logs-end'),
  id: z.number().int(),
  error: z.strictObject({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});
/** supervisor → orchestrator: the client left; stop streaming */
const logsCancel = z.strictObject({ type: z.literal('logs-cancel'), id: z.number().int() });

// ---- metrics ([metrics] in dispenser.toml; docs/operations.md#metrics) ----

/**
 * orchestrator → supervisor: where the metrics listener should be, from [metrics] listen (null:
 * off). Sent at start and after every reload applied; the supervisor opens, moves or closes it.
 */
const metricsSettings = z.strictObject({
  type: z.literal('metrics-settings'),
  listen: z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).nullable(),
});
export type MetricsSettings = z.infer<typeof metricsSettings>;

/** supervisor → any child: a scrape is under way; answer with metrics-report carrying this id */
const metricsRequest = z.strictObject({ type: z.literal('metrics-request'), id: z.number().int().nonnegative() });
export type MetricsRequest = z.infer<typeof metricsRequest>;

const metricSample = z.strictObject({
  name: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/),
  labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()),
  value: z.number(),
});

/** any child → supervisor: this process's samples for the scrape `id` (families.ts names them) */
const metricsReport = z.strictObject({
  type: z.literal('metrics-report'),
  id: z.number().int().nonnegative(),
  samples: z.array(metricSample),
});
export type MetricsReport = z.infer<typeof metricsReport>;

// ---- end of metrics ----

export const messageSchema = z.discriminatedUnion('type', [
  routesSnapshot,
  certsSnapshot,
  challengesSnapshot,
  proxySettingsSnapshot,
  ticketKeysSnapshot,
  ack,
  applied,
  ready,
  reload,
  reloaded,
  drain,
  fatal,
  statusRequest,
  statusReply,
  logsRequest,
  logsChunk,
  logsEnd,
  logsCancel,
  metricsSettings,
  metricsRequest,
  metricsReport,
]);
export type Message = z.infer<typeof messageSchema>;
export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

/** Returns the message, or undefined for anything that is not a valid message of this protocol. */
export function parseMessage(raw: unknown): Message | undefined {
  const msg = openEnvelope(raw);
  if (!msg) return undefined;
  const result = messageSchema.safeParse(msg);
  return result.success ? result.data : undefined;
}

