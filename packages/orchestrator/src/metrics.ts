import { LABELS, ownershipFilter, type InstanceIdentity } from '@dispenser/shared/instance';
import type { MetricSample } from '@dispenser/shared/metrics/sample';
import type { ContainerEngine } from './docker/engine.js';
import type { HostCertStatus } from './certs/status.js';

/**
 * The orchestrator's counters (image checks, deploys, rollbacks, cron runs) and the gauges it
 * reads when scraped (containers by state, certificate expiry). Nothing here is on a hot path:
 * each count is one map update, and a scrape builds the samples. Counters use only label values
 * from the configuration (service names) and fixed sets (results), so the series stay bounded.
 */

export type DeployResult = 'success' | 'failure';
export type CronResult = 'success' | 'failure';

/** a source of gauge samples read at scrape time (a failing one is left out of that scrape) */
export type GaugeSource = () => MetricSample[] | Promise<MetricSample[]>;

export class OrchestratorMetrics {
  private readonly counters = new Map<string, MetricSample>();
  private readonly gauges = new Set<GaugeSource>();

  private add(name: string, labels: Record<string, string>, by = 1): void {
    const key = `${name}${JSON.stringify(labels)}`;
    const held = this.counters.get(key);
    if (held) held.value += by;
    else this.counters.set(key, { name, labels, value: by });
  }

  /** a registry check for a new image of `service`; `ok` false when it failed */
  imageCheck(service: string, ok: boolean): void {
    this.add('dispenser_image_checks_total', { service });
    if (!ok) this.add('dispenser_image_check_errors_total', { service });
  }

  deploy(service: string, result: DeployResult): void {
    this.add('dispenser_deploys_total', { service, result });
  }

  rollback(service: string): void {
    this.add('dispenser_rollbacks_total', { service });
  }

  cronRun(service: string, result: CronResult): void {
    this.add('dispenser_cron_runs_total', { service, result });
  }

  /** Registers a gauge source; returns the function that removes it. */
  gauge(source: GaugeSource): () => void {
    this.gauges.add(source);
    return () => this.gauges.delete(source);
  }

  /** Counters and every gauge; a gauge that fails (Docker unreachable) is left out, not the rest. */
  async samples(): Promise<MetricSample[]> {
    const out = [...this.counters.values()].map((s) => ({ ...s, labels: { ...s.labels } }));
    const gauges = await Promise.allSettled([...this.gauges].map(async (source) => source()));
    for (const g of gauges) if (g.status === 'fulfilled') out.push(...g.value);
    return out;
  }
}

/** dispenser_containers: this instance's containers by service and Docker state, asked of the engine on each scrape. */
export async function containerSamples(engine: ContainerEngine, instance: InstanceIdentity): Promise<MetricSample[]> {
  const counts = new Map<string, MetricSample>();
  for (const c of await engine.listContainers(ownershipFilter(instance).label)) {
    const service = c.labels[LABELS.service] ?? '';
    const key = `${service}\0${c.state}`;
    const held = counts.get(key);
    if (held) held.value++;
    else counts.set(key, { name: 'dispenser_containers', labels: { service, state: c.state }, value: 1 });
  }
  return [...counts.values()];
}

/** dispenser_certificate_expiry_timestamp_seconds: every configured host with a certificate served. */
export function certificateSamples(statuses: readonly HostCertStatus[]): MetricSample[] {
  return statuses.flatMap((s) => (s.notAfter ? [{ name: 'dispenser_certificate_expiry_timestamp_seconds', labels: { host: s.host }, value: Math.floor(s.notAfter.getTime() / 1000) }] : []));
}

/**
 * The orchestrator process's metrics. One per process, like its logger's destination: the parts
 * that count (CD watcher, cron, deployer, rollouts) live deep in the object graph, and threading
 * a counter object through each would touch every constructor for no behaviour.
 */
export const orchestratorMetrics = new OrchestratorMetrics();
