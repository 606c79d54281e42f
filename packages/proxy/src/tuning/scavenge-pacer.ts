/**
 * Young-generation garbage collections paced by the body bytes a worker forwards.
 *
 * Node reads every socket into a fresh buffer of up to 64 KB, allocated outside the JS heap and
 * freed only when a garbage collection finds its Buffer dead. V8 paces its collections by the JS
 * heap, which forwarding a 64 KB response hardly grows: under 64 KB traffic on Node 24 a worker
 * held 17–39 MB of array buffers (`process.memoryUsage()`), and V8 ran full mark-compacts for
 * that outside memory instead (13 in a 3 s run; 2 with this pacer).
 * Forcing a scavenge once per `max(2 MB, 64 KB × requests in flight)` of body bytes keeps that
 * bounded. A scavenge's cost grows with the objects still alive, i.e. with the requests in
 * flight, so the allowance grows with them: at 64 KB per request the collection cost per byte
 * stays flat (a fixed 2 MB made 64 KB requests at 256 connections 17–40 % more expensive), and
 * the buffers waiting are never more than one more per request than those in use. Capped at
 * 16 MB. Measured on Node 24: two workers 219–281 → 136–193 MB under 64 KB traffic; see
 * docs/internals/proxy-performance.md, change 7.
 *
 * Needs `--expose-gc` (set for proxy workers in exec-argv.ts); without it this does nothing.
 */
export const MIN_BYTES = 2 * 1024 * 1024;
export const BYTES_PER_REQUEST = 64 * 1024;
export const MAX_BYTES = 16 * 1024 * 1024;

type MinorGc = (options: { type: 'minor' }) => void;

export class ScavengePacer {
  private bytes = 0;

  constructor(
    private readonly traffic: { readonly inFlight: number },
    private readonly gc: MinorGc | undefined = globalThis.gc,
  ) {}

  /** Called with the size of every body chunk forwarded, in either direction. */
  add(size: number): void {
    if (!this.gc) return;
    this.bytes += size;
    if (this.bytes < Math.min(MAX_BYTES, Math.max(MIN_BYTES, this.traffic.inFlight * BYTES_PER_REQUEST))) return;
    this.bytes = 0;
    this.gc({ type: 'minor' });
  }
}
