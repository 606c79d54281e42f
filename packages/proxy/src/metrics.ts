import { LATENCY_BUCKETS_S, METHODS, STATUS_CLASSES, UNROUTED_SERVICE, methodIndex, statusClassIndex } from '@dispenser/shared/metrics/labels';
import type { MetricSample } from '@dispenser/shared/metrics/sample';

/**
 * This worker's request counters. The request path only does array increments on a
 * ServiceMetrics it already holds (each route table entry carries its service's, looked up when
 * the table is compiled): no await, no label strings, no map lookup per request. Samples with
 * labels are built only when the supervisor scrapes, and the supervisor sums the workers'.
 */

const N_METHODS = METHODS.length;
const N_CLASSES = STATUS_CLASSES.length;

/** `kind` label of dispenser_proxy_upstream_errors_total */
export const UPSTREAM_ERROR_KINDS = ['unreachable', 'timeout'] as const;

export class ServiceMetrics {
  /** method × status class */
  readonly requests = new Float64Array(N_METHODS * N_CLASSES);
  /** per bucket (not cumulative), the last one is +Inf */
  readonly durationBuckets = new Float64Array(LATENCY_BUCKETS_S.length + 1);
  durationSum = 0;
  durationCount = 0;
  inFlight = 0;
  readonly upstreamErrors = new Float64Array(UPSTREAM_ERROR_KINDS.length);

  constructor(readonly service: string) {}

  /** a request answered with `status` (by the proxy itself or the service) */
  request(method: string | undefined, status: number): void {
    this.requests[methodIndex(method) * N_CLASSES + statusClassIndex(status)]!++;
  }

  /** a forwarded request ended after `ms` */
  duration(ms: number): void {
    const s = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && s > LATENCY_BUCKETS_S[i]!) i++;
    this.durationBuckets[i]!++;
    this.durationSum += s;
    this.durationCount++;
  }

  upstreamError(status: 502 | 504): void {
    this.upstreamErrors[status === 504 ? 1 : 0]!++;
  }

  samples(out: MetricSample[]): void {
    const service = this.service;
    for (let m = 0; m < N_METHODS; m++) {
      for (let c = 0; c < N_CLASSES; c++) {
        const value = this.requests[m * N_CLASSES + c]!;
        if (value > 0) out.push({ name: 'dispenser_proxy_requests_total', labels: { service, method: METHODS[m]!, status_class: STATUS_CLASSES[c]! }, value });
      }
    }
    if (service !== UNROUTED_SERVICE) {
      let cumulative = 0;
      LATENCY_BUCKETS_S.forEach((le, i) => {
        cumulative += this.durationBuckets[i]!;
        out.push({ name: 'dispenser_proxy_request_duration_seconds_bucket', labels: { service, le: String(le) }, value: cumulative });
      });
      out.push({ name: 'dispenser_proxy_request_duration_seconds_bucket', labels: { service, le: '+Inf' }, value: this.durationCount });
      out.push({ name: 'dispenser_proxy_request_duration_seconds_sum', labels: { service }, value: this.durationSum });
      out.push({ name: 'dispenser_proxy_request_duration_seconds_count', labels: { service }, value: this.durationCount });
      out.push({ name: 'dispenser_proxy_requests_in_flight', labels: { service }, value: this.inFlight });
      UPSTREAM_ERROR_KINDS.forEach((kind, i) => out.push({ name: 'dispenser_proxy_upstream_errors_total', labels: { service, kind }, value: this.upstreamErrors[i]! }));
    }
  }
}

/** Every service's counters in this worker, plus those of requests no service answers for. */
export class ProxyMetrics {
  readonly unrouted = new ServiceMetrics(UNROUTED_SERVICE);
  private readonly services = new Map<string, ServiceMetrics>();

  /** The counters of `service`, made on first use: called when a route table is compiled. */
  forService(service: string): ServiceMetrics {
    let m = this.services.get(service);
    if (!m) this.services.set(service, (m = new ServiceMetrics(service)));
    return m;
  }

  /**
   * Forgets services no longer routed (a reload removed them), so the label set stays that of the
   * configuration. One still busy keeps its counters until the next table.
   */
  retainOnly(services: ReadonlySet<string>): void {
    for (const [name, m] of this.services) if (!services.has(name) && m.inFlight === 0) this.services.delete(name);
  }

  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    this.unrouted.samples(out);
    for (const m of this.services.values()) m.samples(out);
    return out;
  }
}
