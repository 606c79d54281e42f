import type { DispenserConfig, ServiceConfig } from '@dispenser/shared/config/types';
import { DispenserError } from '@dispenser/shared/errors';
import { LABELS, type InstanceIdentity } from '@dispenser/shared/instance';
import type { ContainerEngine, ContainerInfo } from './docker/engine.js';
import { repoDigestFor } from './docker/repo-digests.js';
import { desiredService, type DesiredService } from './reconcile/desired.js';

/**
 * The configuration being reconciled and lookups into it: a declared service, its desired
 * container, the container this instance runs for it. Every part of the orchestrator reads the
 * current config here, so a reload is seen by all of them at once.
 */
export class Services {
  /** set when a reconcile is asked for (or the first routes are published), before it runs */
  config: DispenserConfig | undefined;
  /** scrubs the current config's secret values from what containers print (exits, rollout failures) */
  redact: (text: string) => string = (text) => text;

  constructor(
    private readonly engine: ContainerEngine,
    readonly instance: InstanceIdentity,
    /** labels added to every container and network (tests: dispenser.test=<area>) */
    readonly extraLabels: Readonly<Record<string, string>> | undefined,
  ) {}

  /** for desiredService(s): the labels every container gets besides Dispenser's own */
  desiredOptions(): { extraLabels?: Readonly<Record<string, string>> } {
    return this.extraLabels ? { extraLabels: this.extraLabels } : {};
  }

  find(name: string): ServiceConfig | undefined {
    return this.config?.services.find((s) => s.name === name);
  }

  service(name: string): ServiceConfig {
    const svc = this.find(name);
    if (!svc) throw new DispenserError('SERVICE_UNKNOWN', `no service named ${name} is declared`, { hint: 'check [service] name in its service.toml' });
    return svc;
  }

  desired(name: string): DesiredService {
    return desiredService(this.service(name), this.instance, this.desiredOptions());
  }

  /** the service's container if this instance manages it */
  async ownContainer(service: string): Promise<ContainerInfo | undefined> {
    const info = await this.engine.inspectContainer(this.desired(service).containerName);
    const labels = info?.Config.Labels ?? {};
    if (!info || labels[LABELS.managed] !== 'true' || labels[LABELS.instance] !== this.instance.name || labels[LABELS.service] !== service) return undefined;
    return info;
  }

  /** see Deployer.runningImageDigest */
  async runningImageDigest(service: string, prefer?: string): Promise<string | undefined> {
    const info = await this.ownContainer(service);
    if (!info) return undefined;
    const image = await this.engine.inspectImage(info.Image);
    return repoDigestFor(image?.RepoDigests ?? [], this.service(service).image, prefer);
  }

  async isRunning(service: string): Promise<boolean> {
    return (await this.ownContainer(service))?.State.Running ?? false;
  }

  async waitForExit(service: string): Promise<number> {
    const info = await this.ownContainer(service);
    if (!info) throw new DispenserError('CONTAINER_NOT_FOUND', `service ${service} has no container`);
    return this.engine.waitContainer(info.Id);
  }
}
