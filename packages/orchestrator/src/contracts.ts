import type { CertEntry, Route } from '@dispenser/shared/ipc/messages';
import type { DispenserConfig } from '@dispenser/shared/config/types';
import type { CertificateState } from './control/service-facts.js';

/**
 * Seams between the orchestrator's parts, fixed up front so the reconciler, the CD watcher/cron
 * and the certificate manager can be built and tested independently and wired in main.ts.
 */

export type DeployReason = 'startup' | 'reload' | 'digest' | 'cron' | 'manual';

/** What the registry watcher and the cron scheduler need from the reconciler. */
/** Where a cron run of a batch job is recorded once it ended (the deploy ledger, deploy-records.ts). */
export interface JobRunRecorder {
  jobRun(service: string, run: { exitCode: number; durationMs: number }): Promise<void>;
}

export interface Deployer {
  /**
   * (Re)create and start the service's container (rollout for proxied services whose strategy is
   * 'rollout', stop-then-start otherwise). `pull: true` pulls the image first. Resolves once the
   * new container runs (and, for a rollout, serves traffic); rejects with a DispenserError
   * otherwise, leaving the previous container running whenever that is possible.
   */
  redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void>;
  /**
   * Registry manifest digest (`sha256:…`) of the image the service's current container was
   * created from, as recorded in the image's RepoDigests; undefined when there is no container
   * or the image has no registry digest (built locally). An image can have several digests for
   * one repository (the same image pushed again under another manifest): `prefer` is returned
   * when it is one of them.
   */
  runningImageDigest(service: string, prefer?: string): Promise<string | undefined>;
  /** true while the service's container is running */
  isRunning(service: string): Promise<boolean>;
  /** resolves with the exit code once the service's current container has exited */
  waitForExit(service: string): Promise<number>;
}

/**
 * How orchestrator code reaches the proxy workers. Each publish replaces the whole previous
 * snapshot of that kind and resolves when every live proxy worker has acknowledged it (the
 * supervisor's 'applied' message), or at once when there are no workers. The process-level
 * implementation lives in ipc/publisher.ts; tests use an in-memory one.
 */
export interface ProxyPublisher {
  publishRoutes(routes: readonly Route[]): Promise<void>;
  publishCerts(certs: readonly CertEntry[]): Promise<void>;
  /** ACME HTTP-01 token → key authorization */
  publishChallenges(tokens: Readonly<Record<string, string>>): Promise<void>;
}

/**
 * A long-lived part of the orchestrator (CD watcher + cron, certificate manager) that main.ts
 * starts after the first reconcile, hands every newly loaded valid config on reload, and stops
 * on drain.
 */
export interface Component {
  update(config: DispenserConfig): Promise<void>;
  stop(): Promise<void>;
  /** its part of `dispenser status`, if it has one */
  readonly statusSource?: StatusSource;
}

/**
 * What a component adds to `dispenser status`: the CD watcher the digest it last saw and the
 * next cron run, the certificate manager each host's certificate. Asked at the moment of a status
 * request, never cached.
 */
export interface StatusSource {
  availableDigest?(service: string): string | undefined;
  nextRun?(service: string): Date | undefined;
  certificates?(): readonly CertificateState[];
}
