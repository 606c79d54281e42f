/**
 * Node flags for proxy worker processes, for the supervisor's `cluster.setupPrimary({ execArgv })`.
 * Kept in a module with no imports so the supervisor can read it without loading the proxy.
 *
 * - `--max-semi-space-size=4`: V8's young generation grows to 3 × 16 MB per worker by default;
 *   the proxy's garbage is short-lived and small (headers, request objects), so a smaller
 *   semi-space keeps each worker ~20 MB smaller under load without measurable CPU cost.
 * - `--single-threaded-gc`: there is one worker per CPU, so V8's parallel GC helper threads can
 *   only run by preempting a sibling worker (or the services behind the proxy), and a scavenge
 *   waits for its slowest helper. Measured under load at 256 connections: total scavenge time
 *   1.1–1.5 s → 0.54–0.57 s per 5 s run, scavenges over 10 ms 13–39 → 1–8.
 * - `--heap-growing-percent=100`: with hundreds of requests in flight (HTTP/2), each request's
 *   objects outlive two scavenges and are promoted, and V8 let the old generation grow to ~4×
 *   its live size (15 → 65 MB per worker) before collecting it. Growing by 2× instead keeps two
 *   workers at 116–129 MB instead of 174–181 MB under the HTTP/2 benchmark, at no measurable
 *   CPU cost (the live set is small, so a mark-compact is cheap).
 * See the README, Reverse proxy / Benchmark.
 */
export const proxyWorkerExecArgv: readonly string[] = Object.freeze(['--max-semi-space-size=4', '--single-threaded-gc', '--heap-growing-percent=100']);
