import { isIP } from 'node:net';
import { z } from 'zod';
import { DURATION_EXPECTED, HSTS_ONE_YEAR_SECONDS, parseCpus, parseDuration, parseMemory, parseTimerDuration, type Parsed } from './units.js';
import { splitShellWords } from './shell-words.js';
import { ACME_DIRECTORY_URL, HOST_DOCKER_INTERNAL, HSTS_DEFAULTS, NOTIFY_DEFAULTS, POLL_DELAY_S, PROXY_DEFAULTS, SERVICE_PROXY_DEFAULTS } from '../defaults.js';
import { spelledEnum } from './spelling.js';
import { CRON_EXPECTED, parseCron } from './cron.js';
import { normalizeProxyPath, uriScheme } from './normalize-values.js';
import { NOTIFY_EVENTS } from './types.js';

/**
 * zod schemas for every key of dispenser.toml and service.toml (SPEC §4–5 plus the documented
 * extras). Every leaf carries `.describe(what is expected)`; schema-problems.ts turns issues into
 * messages with it. Unit-carrying strings are converted here (ms, bytes, nano-CPUs).
 */

export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/**
 * A proxy host as a client's Host header may carry it: underscores are allowed (HTTP's reg-name
 * allows them, the original Dispenser took any string, and the proxy routes them), and a fully
 * qualified trailing dot is dropped. A host a CA cannot issue for is refused per host at
 * certificate time (CERT_INVALID_HOST), not here.
 */
const PROXY_HOST = /^(?=.{1,254}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

function converted<T>(parse: (input: string) => Parsed<T>, expected: string) {
  return z
    .string()
    .transform((s, ctx) => {
      const r = parse(s);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
        return z.NEVER;
      }
      return r.value;
    })
    .describe(expected);
}

const duration = () => converted(parseTimerDuration, DURATION_EXPECTED);

export const HSTS_EXPECTED = 'true (max-age one year), false, or a max-age duration like "180d" or "1h"';
/**
 * `hsts`: false = off, true = one year, a duration = that max-age. Whole seconds, as the header
 * carries them; "0s" is allowed because max-age=0 is how a site tells browsers to forget it.
 */
const hsts = () =>
  z
    .union([z.boolean(), z.string()])
    .transform((v, ctx): number | false => {
      if (v === false) return false;
      if (v === true) return HSTS_ONE_YEAR_SECONDS;
      const r = parseDuration(v);
      // at most 2^31 - 1 seconds (68 years): any longer is a typo, and would print as 1e+21
      if (!r.ok || r.value % 1000 !== 0 || r.value / 1000 > 2_147_483_647) {
        ctx.addIssue({ code: 'custom', message: `expected ${HSTS_EXPECTED} (whole seconds)` });
        return z.NEVER;
      }
      return r.value / 1000;
    })
    .describe(HSTS_EXPECTED);
const port = () => z.number().int().min(1).max(65535).describe('a port number (integer 1–65535)');
const bool = () => z.boolean().describe('true or false');
const nonEmpty = (what: string) => z.string().min(1).describe(what);
const absolutePath = (what: string) =>
  z
    .string()
    .refine((s) => s.startsWith('/'), { message: `expected ${what}` })
    .describe(what);

/** A string is split like a POSIX shell would (quotes, backslashes); an array is taken as is. */
const commandLine = () =>
  z
    .union([z.string(), z.array(z.string()).min(1)])
    .transform((v, ctx) => {
      if (Array.isArray(v)) return v;
      const r = splitShellWords(v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
        return z.NEVER;
      }
      if (r.words.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a non-empty command (a string or an array of strings)' });
        return z.NEVER;
      }
      return r.words;
    })
    .describe('a string (split like a shell would) or an array of strings');

const cron = () =>
  z
    .string()
    .superRefine((expr, ctx) => {
      const r = parseCron(expr);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
    })
    .describe(CRON_EXPECTED);

export const networkSchema = z.strictObject({
  name: z.string().regex(CONTAINER_NAME).describe('a network name (letters, digits, "_", "." and "-", starting with a letter or digit)'),
  driver: spelledEnum(['bridge', 'host', 'overlay', 'macvlan', 'none']).describe('one of "bridge", "host", "overlay", "macvlan", "none"').default('bridge'),
  external: bool().default(false),
  internal: bool().default(false),
  attachable: bool().default(true),
  labels: z.record(z.string(), z.string().describe('a string label value')).describe('a table of string labels').default({}),
});

export const proxySettingsSchema = z.strictObject({
  enabled: bool().default(PROXY_DEFAULTS.enabled),
  strategy: spelledEnum(['https-only', 'http-only', 'both']).describe('one of "https-only", "http-only", "both"').default(PROXY_DEFAULTS.strategy),
  trust_forwarded_headers: bool().default(PROXY_DEFAULTS.trustForwardedHeaders),
  http_port: port().default(PROXY_DEFAULTS.httpPort),
  https_port: port().default(PROXY_DEFAULTS.httpsPort),
  bind: z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IP address such as "0.0.0.0" or "::"' }).describe('an IP address such as "0.0.0.0" or "::"').default(PROXY_DEFAULTS.bind),
  workers: z.number().int().min(1).describe('an integer ≥ 1').optional(),
  access_log: bool().default(PROXY_DEFAULTS.accessLog),
  connect_timeout: duration().default(PROXY_DEFAULTS.connectTimeoutMs),
  upstream_timeout: duration().default(PROXY_DEFAULTS.upstreamTimeoutMs),
  shutdown_timeout: duration().default(PROXY_DEFAULTS.shutdownTimeoutMs),
  header_timeout: duration().default(PROXY_DEFAULTS.headerTimeoutMs),
  keepalive_timeout: duration().default(PROXY_DEFAULTS.keepaliveTimeoutMs),
  body_timeout: duration().default(PROXY_DEFAULTS.bodyTimeoutMs),
  // nginx's send_timeout: a client that takes nothing of a response for this long is dropped
  send_timeout: duration().default(PROXY_DEFAULTS.sendTimeoutMs),
  http2_idle_timeout: duration().default(PROXY_DEFAULTS.http2IdleTimeoutMs),
  hsts: hsts().default(HSTS_DEFAULTS.hsts),
  hsts_include_subdomains: bool().default(HSTS_DEFAULTS.includeSubDomains),
});

export const certbotSchema = z.strictObject({
  email: z.string().regex(/^[^@\s]+@[^@\s]+$/).describe('an email address for the ACME account'),
  directory_url: z.url({ protocol: /^https?$/ }).describe('the URL of an ACME directory (https://…)').default(ACME_DIRECTORY_URL),
});

const TELEMETRY_SCHEMES: readonly string[] = ['file', 's3', 'gs', 'az', 'adls'];
const TELEMETRY_URI_EXPECTED = `a URI starting with ${TELEMETRY_SCHEMES.map((s) => `${s}://`).join(', ')}, or a directory path`;
const seconds = () => z.number().int().min(1).describe('an integer number of seconds ≥ 1');

/**
 * [telemetry] as the original takes it. Unknown keys are let through (the original ignored
 * them) and reported as warnings by notices.ts; a zero interval is refused, as the original
 * could not run with one.
 */
export const telemetrySchema = z.looseObject({
  enabled: bool(),
  base_uri: z
    .string()
    .superRefine((uri, ctx) => {
      const scheme = uriScheme(uri);
      if (uri.trim() === '' || (scheme !== undefined && !TELEMETRY_SCHEMES.includes(scheme))) ctx.addIssue({ code: 'custom', message: `expected ${TELEMETRY_URI_EXPECTED}` });
    })
    .describe(TELEMETRY_URI_EXPECTED),
  status_interval: seconds().default(60),
  maintenance: z
    .strictObject({
      enabled: bool(),
      interval_seconds: seconds().default(3600),
      retention_hours: z.number().int().min(0).describe('an integer number of hours ≥ 0').default(168),
    })
    .optional(),
});

const NOTIFY_EVENTS_EXPECTED = `one of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')}`;

/** [[notify]]: a webhook told about deploys, exits, cron, certificates, registry auth and reloads. */
export const notifySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('an http:// or https:// URL'),
  format: spelledEnum(['json', 'slack', 'ntfy']).describe('one of "json", "slack", "ntfy"').default(NOTIFY_DEFAULTS.format),
  events: z.array(spelledEnum(NOTIFY_EVENTS).describe(NOTIFY_EVENTS_EXPECTED)).min(1).describe(`a non-empty array of events, each ${NOTIFY_EVENTS_EXPECTED}`).optional(),
  secret: z.string().min(1).describe('a non-empty shared secret (best a secret variable: secret = "${ name }")').optional(),
});

export const LISTEN_EXPECTED = 'an IP address and port such as "127.0.0.1:9180" or "[::1]:9180"';

/** `host:port` with a literal IP (IPv6 in brackets) → { host, port }; no name lookups, as for [proxy] bind. */
export function parseListenAddress(input: string): Parsed<{ host: string; port: number }> {
  const fail = { ok: false as const, expected: LISTEN_EXPECTED };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(input.trim());
  if (!m) return fail;
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (isIP(host) === 0 || (m[1] !== undefined) !== (isIP(host) === 6) || port < 1 || port > 65535) return fail;
  return { ok: true, value: { host, port } };
}

/** [metrics]: absent = no metrics listener (the default) */
export const metricsSchema = z.strictObject({
  listen: converted(parseListenAddress, LISTEN_EXPECTED),
});

export const dispenserFileSchema = z.strictObject({
  delay: z.number().int().min(1).describe('an integer number of seconds ≥ 1').default(POLL_DELAY_S),
  host_docker_internal: bool().default(HOST_DOCKER_INTERNAL),
  service: z.array(z.strictObject({ path: nonEmpty('a service directory path (relative to the base dir)') })).describe('an array of [[service]] tables').default([]),
  network: z.array(networkSchema).describe('an array of [[network]] tables').default([]),
  proxy: proxySettingsSchema.prefault({}),
  certbot: certbotSchema.optional(),
  telemetry: telemetrySchema.optional(),
  notify: z.array(notifySchema).describe('an array of [[notify]] tables').default([]),
  metrics: metricsSchema.optional(),
});

const envValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v) => String(v))
  .describe('a string (numbers and booleans are converted)');

export const serviceSectionSchema = z.strictObject({
  name: z.string().regex(CONTAINER_NAME).describe('a container name (letters, digits, "_", "." and "-", starting with a letter or digit)'),
  image: z.string().regex(/^[^\s]+$/).refine((s) => !s.includes('://'), { message: 'expected an image reference without a scheme, e.g. "nginx:1.27" or "ghcr.io/org/app:latest"' }).describe('an image reference like "nginx:1.27" or "registry.example.com/app:latest"'),
  command: commandLine().optional(),
  entrypoint: commandLine().optional(),
  working_dir: absolutePath('an absolute path inside the container').optional(),
  user: z.string().regex(/^([a-z_][a-z0-9_.-]*|\d+)(:([a-z_][a-z0-9_.-]*|\d+))?$/i).describe('a user as "name", "uid" or "uid:gid"').optional(),
  hostname: z.string().regex(HOSTNAME).describe('a hostname').optional(),
  memory: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const r = parseMemory(v);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
      return r.ok ? r.value : z.NEVER;
    })
    .describe('a memory size like "512m" or "1g"')
    .optional(),
  cpus: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const r = parseCpus(v);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
      return r.ok ? r.value : z.NEVER;
    })
    .describe('a decimal number of CPUs like "0.5"')
    .optional(),
  restart: spelledEnum(['no', 'always', 'on-failure', 'unless-stopped'], { never: 'no' })
    .describe('one of "no" (or "never"), "always", "on-failure", "unless-stopped"')
    .default('no'),
});

export const serviceProxySchema = z.strictObject({
  host: z.string().regex(PROXY_HOST).transform((h) => h.replace(/\.$/, '')).describe('a host name like "app.example.com"'),
  // written as the original took it ("api", "api/", "" all mean a prefix); stored as "/api", "/"
  path: z.string().transform(normalizeProxyPath).describe('a path prefix like "/api"').default(SERVICE_PROXY_DEFAULTS.path),
  service_port: port(),
  cert_file: nonEmpty('a PEM certificate file path').optional(),
  key_file: nonEmpty('a PEM private key file path').optional(),
  health_path: z.string().refine((s) => s.startsWith('/'), { message: 'expected an HTTP path starting with "/"' }).describe('an HTTP path starting with "/"').optional(),
  health_interval: duration().default(SERVICE_PROXY_DEFAULTS.healthIntervalMs),
  health_timeout: duration().default(SERVICE_PROXY_DEFAULTS.healthTimeoutMs),
  deploy_timeout: duration().default(SERVICE_PROXY_DEFAULTS.deployTimeoutMs),
  drain_timeout: duration().default(SERVICE_PROXY_DEFAULTS.drainTimeoutMs),
  // unset: the [proxy] value of dispenser.toml applies
  hsts: hsts().optional(),
  hsts_include_subdomains: bool().optional(),
});

const dependsOnCondition = () => spelledEnum(['started', 'completed', 'healthy'], { 'service-started': 'started', 'service-completed': 'completed', 'service-healthy': 'healthy' });

export const serviceFileSchema = z.strictObject({
  service: serviceSectionSchema.describe('a [service] table with at least name and image'),
  port: z.array(z.strictObject({ host: port(), container: port() })).describe('an array of [[port]] tables').default([]),
  volume: z
    .array(
      z.strictObject({
        source: nonEmpty('a path (relative to the service dir or absolute) or a volume name'),
        target: absolutePath('an absolute path inside the container').refine((s) => s !== '/', { message: 'expected a target other than "/"' }),
        readonly: bool().default(false),
      }),
    )
    .describe('an array of [[volume]] tables')
    .default([]),
  env: z.record(z.string(), envValue).describe('a table of environment variables').default({}),
  network: z.array(z.strictObject({ name: nonEmpty('the name of a [[network]] declared in dispenser.toml') })).describe('an array of [[network]] tables').default([]),
  extra_host: z
    .array(
      z.strictObject({
        hostname: z.string().regex(HOSTNAME).describe('a hostname'),
        // named ipv4 by the original, which passed any address on to Docker: IPv6 works too
        ipv4: z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IP address like "10.0.0.5" or "fd00::5"' }).describe('an IP address'),
      }),
    )
    .describe('an array of [[extra_host]] tables')
    .default([]),
  dispenser: z
    .strictObject({
    watch: bool(),
    initialize: spelledEnum(['immediately', 'on-trigger']).describe('"immediately" or "on-trigger"').default('immediately'),
    cron: cron().optional(),
    pull: spelledEnum(['on-startup', 'always']).describe('"on-startup" or "always"').default('on-startup'),
    strategy: spelledEnum(['rollout', 'recreate']).describe('"rollout" or "recreate"').optional(),
  })
    .describe('a [dispenser] table with at least watch = true or false'),
  depends_on: z
    .record(z.string(), dependsOnCondition().describe('one of "service-started" ("started"), "service-completed" ("completed"), "service-healthy" ("healthy")'))
    .describe('a table of service name = condition')
    .default({}),
  proxy: serviceProxySchema.optional(),
  healthcheck: z
    .strictObject({
      test: z
        .union([z.string().min(1).transform((s) => ['CMD-SHELL', s]), z.array(z.string()).min(1)])
        .refine((t) => ['NONE', 'CMD', 'CMD-SHELL'].includes(t[0]!), { message: 'expected an array starting with "CMD", "CMD-SHELL" or "NONE" (Docker form), or a shell command string' })
        .describe('an array in Docker form like ["CMD", "curl", "-f", "http://localhost/"], or a shell command string'),
      interval: duration().optional(),
      timeout: duration().optional(),
      start_period: duration().optional(),
      retries: z.number().int().min(0).describe('an integer ≥ 0').optional(),
    })
    .optional(),
});

export type DispenserFile = z.output<typeof dispenserFileSchema>;
export type ServiceFile = z.output<typeof serviceFileSchema>;

export const secretRefSchema = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('google'),
    name: z.string().regex(/^projects\/[^/]+\/secrets\/[^/]+$/).describe('a secret name like "projects/my-project/secrets/db-password"'),
    version: z.union([z.string().min(1), z.number().int().min(1).transform(String)]).describe('a version number or "latest"').default('latest'),
  }),
  z.strictObject({ source: z.literal('env'), name: z.string().min(1).describe('an environment variable name') }),
  z.strictObject({ source: z.literal('file'), path: z.string().min(1).describe('a file path') }),
]);

export type SecretRef = z.output<typeof secretRefSchema>;
