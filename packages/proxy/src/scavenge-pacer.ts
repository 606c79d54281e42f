/**
 * Young-generation garbage collections paced by the body bytes a worker forwards.
 *
 * Node reads every socket into a fresh buffer of up to 64 KB, allocated outside the JS heap, and
 * frees it only when a garbage collection finds it dead. V8 starts a scavenge when the young
 * generation fills with JS objects, and forwarding a 64 KB response allocates ~30 times less of
 * those than of buffer: between two scavenges a worker held 20–40 MB of dead read buffers, and
 * V8 then ran full mark-compacts for the memory outside the heap instead (13 in 3 s against 2).
 * Forcing a scavenge once per `max(2 MB, 64 KB × requests in flight)` of body bytes keeps that
 * bounded. A scavenge's cost grows with the objects still alive, i.e. with the requests in
 * flight, so the allowance grows with them: at 64 KB per request the collection cost per byte
 * stays flat (a fixed 2 MB made 64 KB requests at 256 connections 20–40 % more expensive), and
 * the buffers waiting are never more than one more per request than those in use. Capped at
 * 16 MB. Measured on Node 24: two workers 219–281 → 136–193 MB under 64 KB traffic; see the
 * README, Reverse proxy / Benchmark.
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
