/**
 * Node flags for proxy worker processes, for the supervisor's `cluster.setupPrimary({ execArgv })`.
 * V8's young generation grows to 3 × 16 MB per worker by default; the proxy's garbage is
 * short-lived and small (headers, request objects), so a smaller semi-space keeps each worker
 * ~20 MB smaller under load without measurable CPU cost (see docs/proxy.md, Benchmark).
 * Kept in a module with no imports so the supervisor can read it without loading the proxy.
 */
export const proxyWorkerExecArgv: readonly string[] = Object.freeze(['--max-semi-space-size=4']);
