import { EventEmitter } from 'node:events';
import { errorMessage } from '@dispenser/shared/errors';
import { LABELS, type InstanceIdentity } from '@dispenser/shared/instance';
import type { Logger } from '@dispenser/shared/log';
import { backoffDelay, sleep } from '../backoff.js';
import type { ContainerEngine, EngineEvent } from './engine.js';

export interface EngineStreamEvents {
  /** a container this instance manages started, died or was destroyed */
  container: [EngineEvent];
  /** connected again after the stream broke or the daemon could not be reached at first */
  reconnected: [];
}

/** The container actions that change what runs (and so what the routes point to). */
const CONTAINER_ACTIONS: ReadonlySet<string> = new Set(['start', 'die', 'destroy']);

/**
 * Follows the engine's event stream and emits what concerns this instance. When the stream
 * breaks (dockerd restarted or stopped) it reconnects with backoff and emits `reconnected`:
 * containers without a restart policy are gone after a daemon restart, so whoever listens
 * reconciles again.
 */
export class EngineEventStream extends EventEmitter<EngineStreamEvents> {
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly instance: InstanceIdentity,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Follows the stream until stop(); never rejects. */
  async run(): Promise<void> {
    const stopped = this.abort.signal;
    let attempt = 0;
    let everConnected = false;
    while (!stopped.aborted) {
      try {
        const ended = new Promise<Error | undefined>((resolve) => {
          void this.engine
            .subscribe((e) => this.onEvent(e), resolve)
            .then((unsub) => {
              this.unsubscribe = unsub;
            }, resolve);
        });
        // give a failed subscribe a moment to report before counting as connected
        const early = await Promise.race([ended, sleep(300).then(() => 'up' as const)]);
        if (early !== 'up') throw early ?? new Error('event stream ended');
        if (everConnected || attempt > 0) this.emit('reconnected');
        everConnected = true;
        attempt = 0;
        const err = await ended;
        if (stopped.aborted) return;
        this.log.warn({ err: err ? errorMessage(err) : undefined }, 'lost the Docker daemon event stream; reconnecting');
      } catch (err) {
        if (stopped.aborted) return;
        this.log.warn({ err: errorMessage(err), attempt }, 'Docker daemon unreachable; retrying');
      }
      await sleep(backoffDelay(attempt++, 500, 15_000), stopped);
    }
  }

  private onEvent(e: EngineEvent): void {
    if (e.attributes[LABELS.instance] !== this.instance.name || e.attributes[LABELS.managed] !== 'true') return;
    if (!CONTAINER_ACTIONS.has(e.action)) return;
    this.emit('container', e);
  }

  stop(): void {
    this.abort.abort();
    this.unsubscribe?.();
  }
}
