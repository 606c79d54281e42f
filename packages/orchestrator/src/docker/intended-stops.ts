import type { ContainerEngine } from './engine.js';

/** How long a stop Dispenser asked for explains a container's exit; a `docker stop` takes seconds. */
const REMEMBER_MS = 10 * 60_000;

/**
 * Containers Dispenser itself stopped or removed (replace, rollout, removal). Their `die` event is
 * Dispenser's doing, not a crash, and must not be reported as one.
 */
export class IntendedStops {
  private readonly ids = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  mark(id: string): void {
    const now = this.now();
    for (const [k, at] of this.ids) if (now - at > REMEMBER_MS) this.ids.delete(k);
    this.ids.set(id, now);
  }

  /** true when `id` (a full ID; Dispenser may have used a prefix) was stopped by Dispenser recently */
  intended(id: string): boolean {
    const now = this.now();
    for (const [k, at] of this.ids) if (now - at <= REMEMBER_MS && (id === k || id.startsWith(k))) return true;
    return false;
  }
}

/** `engine`, with every stop and removal recorded in `stops` before it is sent to Docker. */
export function recordingStops(engine: ContainerEngine, stops: IntendedStops): ContainerEngine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'stopContainer' || prop === 'removeContainer') {
        const fn = target[prop].bind(target) as (id: string, ...rest: unknown[]) => Promise<void>;
        return (id: string, ...rest: unknown[]) => {
          stops.mark(id);
          return fn(id, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
