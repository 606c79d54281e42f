import { hostname } from 'node:os';
import type { NotifyTarget } from '@dispenser/shared/config/types';
import { errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import { TargetDelivery, type DeliveryOptions } from './delivery.js';
import type { EventSink, NotifyEvent } from './events.js';

export type NotifierOptions = Omit<DeliveryOptions, 'origin' | 'signal'> & { instance: string; host?: string };

/**
 * The [[notify]] targets of the running config, each with its own queue (delivery.ts), so a
 * slow webhook delays no other. `emit` is a synchronous enqueue. A reload hands in the new
 * targets: a URL that stays keeps its queue and whatever it is retrying.
 */
export class Notifier implements EventSink {
  private deliveries = new Map<string, TargetDelivery>();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private readonly deliveryOptions: DeliveryOptions;

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.log.child({ module: 'notify' });
    this.deliveryOptions = { ...opts, log: this.log, origin: { host: opts.host ?? hostname(), instance: opts.instance }, signal: this.abort.signal };
  }

  setTargets(targets: readonly NotifyTarget[], redact: (text: string) => string = (t) => t): void {
    const next = new Map<string, TargetDelivery>();
    for (const target of targets) {
      let key = target.url;
      for (let n = 2; next.has(key); n++) key = `${target.url}#${n}`;
      const kept = this.deliveries.get(key);
      if (kept) kept.update(target, redact);
      next.set(key, kept ?? new TargetDelivery(target, redact, this.deliveryOptions));
    }
    for (const [key, d] of this.deliveries) if (!next.has(key)) d.stop();
    this.deliveries = next;
  }

  emit(event: NotifyEvent): void {
    try {
      const item = { event, at: new Date((this.opts.now ?? Date.now)()) };
      for (const d of this.deliveries.values()) if (d.wants(event)) d.enqueue(item);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), event: event.event }, 'cannot queue a notification');
    }
  }

  /** drain: waits and requests in flight end; nothing more is sent */
  stop(): void {
    this.abort.abort();
  }
}
