import type { MetricSample } from '@dispenser/shared/metrics/sample';

/**
 * The orchestrator's counters (image checks, deploys, rollbacks, cron runs) and the gauges it
 * reads when scraped (containers by state, certificate expiry). Nothing here is on a hot path:
 * each count is one map update, and a scrape builds the samples. Counters use only label values
 * from the configuration (service names) and fixed sets (results), so the series stay bounded.
 */

export type DeployResult = 'success' | 'failure';
export type CronResult = 'success' | 'failure';

/** a source of gauge samples read at scrape time; must not throw, must answer from memory */
export type GaugeSource = () => MetricSample[];

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

  samples(): MetricSample[] {
    const out = [...this.counters.values()].map((s) => ({ ...s }));
    for (const source of this.gauges) {
      try {
        out.push(...source());
      } catch {
        // a broken gauge must not take the other metrics with it
      }
    }
    return out;
  }
}

/**
 * The orchestrator process's metrics. One per process, like its logger's destination: the parts
 * that count (CD watcher, cron, deployer, rollouts) live deep in the object graph, and threading
 * a counter object through each would touch every constructor for no behaviour.
 */
export const orchestratorMetrics = new OrchestratorMetrics();
