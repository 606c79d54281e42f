/**
 * Node flags for proxy worker processes, for the supervisor's `cluster.setupPrimary({ execArgv })`.
 * Kept in a module with no imports so the supervisor can read it without loading the proxy.
 *
 * - `--max-semi-space-size=4`: V8's young generation grows to 3 × 16 MB per worker by default;
 *   the proxy's garbage is short-lived and small (headers, request objects), so a smaller
 *   semi-space keeps each worker ~20 MB smaller under load without measurable CPU cost.
 * - `--no-parallel-scavenge`: there is one worker per CPU, so parallel scavenger threads can only
 *   run by preempting a sibling worker, and a scavenge waits for its slowest helper. Measured
 *   under load at 256 connections: total scavenge time 1.1–1.5 s → 0.54–0.57 s per 5 s run,
 *   scavenges over 10 ms 13–39 → 1–8.
 * - `--no-concurrent-array-buffer-sweeping`: every socket read is a 64 KB buffer; freeing them on
 *   a helper thread instead of the worker's own doubled the CPU per 64 KB request (74–80 →
 *   161–172 µs).
 * - Concurrent marking and sweeping stay on, on one helper thread (`--v8-pool-size=1`): with all
 *   of the GC on the worker's thread (`--single-threaded-gc`), Node 24's V8 paces an incremental
 *   mark over ~0.3 s while the proxy keeps allocating, so each full GC left ~25 MB of floating
 *   garbage per worker and the heap settled at 3× its live size: 455–515 MB for two workers
 *   under the HTTP/2 benchmark against 250–330 MB with the helper thread (Node 20: 164–206 →
 *   157–177 MB). CPU per request did not change.
 * - `--heap-growing-percent=50`: with hundreds of requests in flight (HTTP/2), each request's
 *   objects outlive two scavenges and are promoted, and V8 let the old generation grow to ~4×
 *   its live size (15 → 65 MB per worker) before collecting it. Growing by 2× kept two workers
 *   at 116–129 MB instead of 174–181 MB under the HTTP/2 benchmark on Node 20; 1.5× (with the
 *   malloc trimmer, malloc-trimmer.ts) brought Node 24 from 192–238 to 169–190 MB there, at no
 *   measurable CPU cost on either (the live set is ~16 MB, so a mark-compact is cheap).
 * - `--expose-gc`: lets the worker start a scavenge itself, paced by the bytes it forwards
 *   (scavenge-pacer.ts); socket read buffers live outside the JS heap and do not fill it.
 * See docs/internals/proxy-performance.md.
 */
export const proxyWorkerExecArgv: readonly string[] = Object.freeze([
  '--max-semi-space-size=4',
  '--no-parallel-scavenge',
  '--no-concurrent-array-buffer-sweeping',
  '--v8-pool-size=1',
  '--heap-growing-percent=50',
  '--expose-gc',
]);
