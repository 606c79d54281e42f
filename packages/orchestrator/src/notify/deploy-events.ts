import { codeOr, errorMessage } from '@dispenser/shared/errors';
import type { DeployTrigger } from '@dispenser/shared/control/facts';
import type { EventSink } from './events.js';

/** a refusal to repeat a failure already told about, and a rollout cut off by a crash that is being settled: no new failure */
const NOT_TOLD: ReadonlySet<string> = new Set(['ROLLOUT_NOT_RETRIED', 'ROLLOUT_RESUME_PENDING']);

/**
 * deploy-succeeded / -failed / -rolled-back, told once each. A failure is reported by the
 * deployer where it knows whether a rollout rolled back, and by the reconcile pass for what
 * failed before the deploy (a pull, a dependency): an error is told at most once, and reconcile
 * retrying a failed service with backoff tells the same failure again only after a success.
 */
export class DeployEvents {
  private readonly told = new WeakSet<object>();
  private readonly lastFailure = new Map<string, string>();

  constructor(private readonly sink: EventSink) {}

  succeeded(service: string, trigger: DeployTrigger, image: string): void {
    this.lastFailure.delete(service);
    this.sink.emit({ event: 'deploy-succeeded', service, message: `${service} deployed (${trigger}): ${image}`, details: { trigger, image } });
  }

  failed(service: string, err: unknown, trigger: DeployTrigger, opts: { image?: string; rolledBack?: boolean } = {}): void {
    if (err instanceof Object) {
      if (this.told.has(err)) return;
      this.told.add(err);
    }
    const code = codeOr(err, 'DEPLOY_FAILED');
    if (NOT_TOLD.has(code)) return;
    if (trigger === 'reconcile' && this.lastFailure.get(service) === code) return;
    this.lastFailure.set(service, code);
    const what = opts.rolledBack ? `the rollout of ${service} failed and was rolled back; the previous container keeps serving` : `deploying ${service} failed`;
    this.sink.emit({
      event: opts.rolledBack ? 'deploy-rolled-back' : 'deploy-failed',
      service,
      code,
      message: `${what}: ${errorMessage(err)}`,
      details: { trigger, ...(opts.image ? { image: opts.image } : {}) },
    });
  }
}
