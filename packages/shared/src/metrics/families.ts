/**
 * Every metric family Dispenser exposes: the one place their names, types and help texts are
 * declared. The supervisor renders only these; a sample of any other name is a bug and is dropped.
 * Names and labels follow Prometheus conventions (`_total` counters, `_seconds` units, bounded
 * label values: see labels.ts). Documented in docs/operations.md#metrics.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
}

export const metricFamilies: readonly MetricFamily[] = [
  // the supervisor
  { name: 'dispenser_up', type: 'gauge', help: 'Whether a Dispenser process answered this scrape (1) or not (0), by process.' },
  // proxy workers, summed across workers
  { name: 'dispenser_proxy_requests_total', type: 'counter', help: 'Requests answered by the proxy, by service, method and status class.' },
  { name: 'dispenser_proxy_request_duration_seconds', type: 'histogram', help: 'Time from forwarding a request to the end of its response, by service.' },
  { name: 'dispenser_proxy_requests_in_flight', type: 'gauge', help: 'Requests and WebSockets being forwarded right now, by service.' },
  { name: 'dispenser_proxy_upstream_errors_total', type: 'counter', help: 'Exchanges with a service that failed (502) or timed out (504), by service and kind.' },
  // the orchestrator
  { name: 'dispenser_image_checks_total', type: 'counter', help: 'Registry checks for a new image, by service.' },
  { name: 'dispenser_image_check_errors_total', type: 'counter', help: 'Registry checks for a new image that failed, by service.' },
  { name: 'dispenser_deploys_total', type: 'counter', help: 'Deploys (recreate or rollout) of a service, by service and result.' },
  { name: 'dispenser_rollbacks_total', type: 'counter', help: 'Rollouts that were rolled back to the previous container, by service.' },
  { name: 'dispenser_cron_runs_total', type: 'counter', help: 'Cron runs of a service, by service and result.' },
  { name: 'dispenser_containers', type: 'gauge', help: 'Containers Dispenser manages, by service and Docker state.' },
  { name: 'dispenser_certificate_expiry_timestamp_seconds', type: 'gauge', help: 'When the certificate served for a host expires (Unix time).' },
  // every process
  { name: 'process_cpu_seconds_total', type: 'counter', help: 'User and system CPU time spent, by process.' },
  { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size, by process.' },
  { name: 'process_heap_bytes', type: 'gauge', help: 'JavaScript heap in use, by process.' },
  { name: 'process_start_time_seconds', type: 'gauge', help: 'Start time of the process since the Unix epoch, by process.' },
  { name: 'process_open_fds', type: 'gauge', help: 'Open file descriptors, by process.' },
];
