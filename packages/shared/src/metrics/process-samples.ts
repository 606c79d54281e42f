import { readdirSync } from 'node:fs';
import type { MetricSample } from './sample.js';

const startTimeSeconds = Math.round((Date.now() - performance.now()) / 10) / 100;

/**
 * The usual process_* metrics of this process, labelled with which Dispenser process it is
 * (`supervisor`, `orchestrator`, `proxy-worker-N`): every process of the daemon is reported on the
 * one listener, and the number of workers bounds the label.
 */
export function processSamples(processLabel: string): MetricSample[] {
  const labels = { process: processLabel };
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const out: MetricSample[] = [
    { name: 'process_cpu_seconds_total', labels, value: (cpu.user + cpu.system) / 1e6 },
    { name: 'process_resident_memory_bytes', labels, value: mem.rss },
    { name: 'process_heap_bytes', labels, value: mem.heapUsed },
    { name: 'process_start_time_seconds', labels, value: startTimeSeconds },
  ];
  try {
    out.push({ name: 'process_open_fds', labels, value: readdirSync('/proc/self/fd').length });
  } catch {
    // not Linux: left out rather than reported as 0
  }
  return out;
}
