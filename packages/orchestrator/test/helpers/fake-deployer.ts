import { DispenserError } from '@dispenser/shared/errors';
import type { DeployReason, Deployer } from '../../src/contracts.js';

/** An in-memory Deployer: containers are records; redeploys can be held open or made to fail. */
export class FakeDeployer implements Deployer {
  readonly calls: { service: string; reason: DeployReason; pull: boolean }[] = [];
  /** registry digest each service's container runs */
  readonly running = new Map<string, string | undefined>();
  /** what a redeploy of the service will run (the registry's current digest) */
  readonly registry = new Map<string, string>();
  readonly failing = new Set<string>();
  readonly alive = new Set<string>();
  private readonly exits = new Map<string, (code: number) => void>();
  hold: Promise<void> | undefined;

  async redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void> {
    this.calls.push({ service, ...opts });
    if (this.hold) await this.hold;
    if (this.failing.has(service)) throw new DispenserError('IMAGE_PULL_FAILED', 'pull failed halfway');
    this.running.set(service, this.registry.get(service));
    this.alive.add(service);
  }
  async runningImageDigest(service: string): Promise<string | undefined> {
    return this.running.get(service);
  }
  async isRunning(service: string): Promise<boolean> {
    return this.alive.has(service);
  }
  waitForExit(service: string): Promise<number> {
    if (!this.alive.has(service)) return Promise.resolve(0);
    return new Promise((resolve) => this.exits.set(service, resolve));
  }
  /** the service's container exits with code */
  exit(service: string, code: number): void {
    this.alive.delete(service);
    this.exits.get(service)?.(code);
    this.exits.delete(service);
  }
}
