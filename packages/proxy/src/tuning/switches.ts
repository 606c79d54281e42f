/**
 * Turning single tuning pieces off, for the benchmark only: measuring what each one pays is how
 * it earns its place (docs/internals/proxy-performance.md). `DISPENSER_BENCH_TUNING_OFF` is a
 * comma-separated list of piece names; nothing in a normal start sets it. The Node flags are
 * switched by the benchmark itself (the execArgv it starts workers with).
 */
export const TUNING_PIECES = ['quick-ack', 'malloc-trim', 'scavenge-pacer'] as const;
export type TuningPiece = (typeof TUNING_PIECES)[number];

export const TUNING_OFF_ENV = 'DISPENSER_BENCH_TUNING_OFF';

export function tuningOff(value = process.env[TUNING_OFF_ENV]): ReadonlySet<TuningPiece> {
  const names = new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  return new Set(TUNING_PIECES.filter((p) => names.has(p)));
}
