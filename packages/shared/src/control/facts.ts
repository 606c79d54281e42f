import { z } from 'zod';

/**
 * What the orchestrator knows about one declared service, as it answers a `status-request`
 * (ipc/messages.ts). Plain facts, no judgement: whether they add up to "degraded" is decided in
 * one place, status.ts, so the CLI, `--watch` and later the metrics agree.
 */

const container = z.strictObject({
  /** short id (12 hex digits) */
  id: z.string(),
  /** Docker's state: created | running | paused | restarting | removing | exited | dead */
  state: z.string(),
  /** Docker's health check result; 'none' when the image and service define no health check */
  health: z.enum(['healthy', 'unhealthy', 'starting', 'none']),
  /** ISO time the container last started, null when it never did */
  startedAt: z.string().nullable(),
  /** exit code of a container that is not running, null while it runs */
  exitCode: z.number().int().nullable(),
});
export type ContainerFacts = z.infer<typeof container>;

export const deployTriggers = ['startup', 'reload', 'digest', 'cron', 'manual', 'reconcile'] as const;
export type DeployTrigger = (typeof deployTriggers)[number];

const deploy = z.strictObject({
  /** ISO time the deploy finished */
  at: z.string(),
  trigger: z.enum(deployTriggers),
  result: z.enum(['ok', 'failed']),
  /** error code of a failed deploy (docs/reference/errors.md) */
  code: z.string().optional(),
  durationMs: z.number().int().nonnegative(),
});
export type DeployFacts = z.infer<typeof deploy>;

const certificate = z.strictObject({
  host: z.string(),
  /** acme | files | self-signed | none */
  source: z.string(),
  /** ISO expiry of the certificate served now, null when none is */
  notAfter: z.string().nullable(),
  /** code of the last failure (ACME order, file load), cleared by the next success */
  error: z.string().optional(),
});
export type CertificateFacts = z.infer<typeof certificate>;

export const serviceFactsSchema = z.strictObject({
  name: z.string(),
  image: z.string(),
  /** cron, or initialize = "on-trigger": the container runs now and then, not all the time */
  job: z.boolean(),
  /** this instance's container for the service, null when there is none (or it could not be asked: inspectError) */
  container: container.nullable(),
  /** why the container could not be inspected (the Docker engine is unreachable), else null */
  inspectError: z.string().nullable(),
  /** registry digest of the image the container runs, null when unknown (no container, local build) */
  runningDigest: z.string().nullable(),
  /** the digest the registry watcher saw last for the tag, null when not watched or not checked yet */
  availableDigest: z.string().nullable(),
  /** from the deploy ledger, so also one before a restart; null before the first deploy */
  lastDeploy: deploy.nullable(),
  routes: z.array(z.strictObject({ host: z.string(), path: z.string() })),
  cron: z.string().nullable(),
  /** ISO time of the next cron run, null without cron */
  nextRun: z.string().nullable(),
  certificates: z.array(certificate),
});
export type ServiceFacts = z.infer<typeof serviceFactsSchema>;

export const orchestratorFactsSchema = z.strictObject({
  /** 1 for the configuration loaded at start, +1 for every reload applied since */
  configGeneration: z.number().int().nonnegative(),
  /** ISO time the orchestrator process started */
  startedAt: z.string(),
  /** what is under way (reconcile passes, redeploys, rollouts) */
  busyWith: z.array(z.string()),
  services: z.array(serviceFactsSchema),
});
export type OrchestratorFacts = z.infer<typeof orchestratorFactsSchema>;
