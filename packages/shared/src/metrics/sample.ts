/**
 * One value of one series, as a child process reports it to the supervisor on a scrape. Zod-free:
 * proxy workers build these (only when scraped, never per request).
 */
export interface MetricSample {
  /** series name, with _bucket/_sum/_count for a histogram's parts */
  name: string;
  labels: Record<string, string>;
  value: number;
}
