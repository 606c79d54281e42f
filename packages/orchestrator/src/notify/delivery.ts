import type { NotifyTarget } from '@dispenser/shared/config/types';
import { NOTIFY_DEFAULTS } from '@dispenser/shared/defaults';
import { errorMessage } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import { backoffDelay, sleep as realSleep } from '../backoff.js';
import { parseRetryAfter } from '../retry-after.js';
import type { NotifyEvent } from './events.js';
import { notificationRequest, type EventOrigin } from './payload.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';

/** An event as queued: stamped when it happened, not when it is sent. */
export interface QueuedEvent {
  event: NotifyEvent;
  at: Date;
}

export interface DeliveryOptions {
  log: Logger;
  origin: EventOrigin;
  /** aborted when the orchestrator stops: waits and requests end, the queue is given up */
  signal: AbortSignal;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>;
  now?: () => number;
  queueSize?: number;
  attempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; why: string; retryAfterMs?: number };

/**
 * One webhook's queue: events are sent one at a time, in order, each tried up to `attempts`
 * times with doubling delays (or what a 429/503 Retry-After asks for, capped). The queue is
 * bounded: beyond `queueSize` waiting events the oldest is dropped and counted, so a receiver
 * that is down for days costs bounded memory. Nothing here is awaited by whoever enqueues.
 */
export class TargetDelivery {
  private readonly queue: QueuedEvent[] = [];
  private running = false;
  private dropped = 0;
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;
  private readonly log: Logger;

  constructor(
    private target: NotifyTarget,
    private redact: (text: string) => string,
    private readonly opts: DeliveryOptions,
  ) {
    this.signal = AbortSignal.any([opts.signal, this.abort.signal]);
    // the path and query of a webhook URL often are its credential: only the origin is logged
    this.log = opts.log.child({ target: originOf(target.url) });
  }

  /** how many events wait (not counting the one being sent) */
  get waiting(): number {
    return this.queue.length;
  }

  /** A reload's settings for the same URL: they apply from the next attempt on; nothing queued is lost. */
  update(target: NotifyTarget, redact: (text: string) => string): void {
    this.target = target;
    this.redact = redact;
  }

  wants(event: NotifyEvent): boolean {
    return this.target.events === undefined || this.target.events.includes(event.event);
  }

  enqueue(item: QueuedEvent): void {
    if (this.signal.aborted) return;
    const queueSize = this.opts.queueSize ?? NOTIFY_DEFAULTS.queueSize;
    if (this.queue.length >= queueSize) {
      this.queue.shift();
      if (++this.dropped === 1) this.log.warn({ code: 'NOTIFY_QUEUE_FULL', queueSize }, 'notification queue full: dropping the oldest notifications until the webhook catches up');
    }
    this.queue.push(item);
    if (!this.running) void this.drain();
  }

  /** the target is gone from the config: what still waits is not sent */
  stop(): void {
    if (this.queue.length > 0) this.log.info({ dropped: this.queue.length }, 'notification target removed; its waiting notifications are not sent');
    this.queue.length = 0;
    this.abort.abort();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let item = this.queue.shift(); item && !this.signal.aborted; item = this.queue.shift()) await this.deliver(item);
    } finally {
      this.running = false;
      if (this.dropped > 0) {
        this.log.warn({ code: 'NOTIFY_QUEUE_FULL', dropped: this.dropped }, `${this.dropped} notifications were dropped while the queue was full`);
        this.dropped = 0;
      }
    }
  }

  private async deliver(item: QueuedEvent): Promise<void> {
    const attempts = this.opts.attempts ?? NOTIFY_DEFAULTS.attempts;
    const sleep = this.opts.sleep ?? realSleep;
    const now = this.opts.now ?? Date.now;
    const maxMs = this.opts.retryMaxMs ?? NOTIFY_DEFAULTS.retryMaxMs;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const outcome = await this.post(item);
      if (outcome.ok) {
        this.log.debug({ event: item.event.event, attempt: attempt + 1 }, 'notification delivered');
        return;
      }
      const fields = { event: item.event.event, attempt: attempt + 1, why: this.redact(outcome.why) };
      if (!outcome.retry || attempt === attempts - 1 || this.signal.aborted) {
        if (!this.signal.aborted) {
          const code = outcome.retry ? 'NOTIFY_FAILED' : 'NOTIFY_REJECTED';
          this.log.warn({ code, ...fields }, `notification not delivered: ${fields.why}${outcome.retry ? ` after ${attempt + 1} attempts` : ' (not retried)'}`);
        }
        return;
      }
      const delay = Math.min(maxMs, outcome.retryAfterMs ?? backoffDelay(attempt, this.opts.retryBaseMs ?? NOTIFY_DEFAULTS.retryBaseMs, maxMs));
      this.log.debug({ ...fields, retryInMs: delay, at: now() }, 'notification failed; retrying');
      if (!(await sleep(delay, this.signal))) return;
    }
  }

  private async post(item: QueuedEvent): Promise<Outcome> {
    const { target } = this;
    const req = notificationRequest(item.event, target.format, this.opts.origin, item.at, this.redact);
    const headers: Record<string, string> = { ...req.headers, 'User-Agent': 'dispenser' };
    if (target.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(req.body, target.secret);
    const timeoutMs = this.opts.timeoutMs ?? NOTIFY_DEFAULTS.timeoutMs;
    try {
      const res = await (this.opts.fetch ?? fetch)(target.url, {
        method: 'POST',
        headers,
        body: req.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined, (this.opts.now ?? Date.now)(), this.opts.retryMaxMs ?? NOTIFY_DEFAULTS.retryMaxMs);
      return { ok: false, retry, why: `the webhook answered ${res.status}`, ...(retry && retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      // fetch's own message is "fetch failed"; the cause says what (ECONNREFUSED, a TLS error, …)
      const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : errorMessage(err);
      return { ok: false, retry: true, why: timedOut ? `no answer within ${timeoutMs} ms` : cause };
    }
  }
}

/** scheme, host and port only: never the path, query or user info */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
