import type { NotifyEventName } from '@dispenser/shared/config/types';

/** Something an operator is told about through [[notify]] (the names: NOTIFY_EVENTS). */
export interface NotifyEvent {
  event: NotifyEventName;
  /** the service concerned, when there is one */
  service?: string;
  /** one line for a person, as the log says it */
  message: string;
  /** the error or log code, when there is one (docs/reference/errors.md) */
  code?: string;
  /** a few more facts (exit code, host name, reload number, …) */
  details?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Where the orchestrator's parts report events. `emit` only enqueues: it returns at once and
 * never throws, so no deploy, exit report or reload waits on a webhook.
 */
export interface EventSink {
  emit(event: NotifyEvent): void;
}

/** For parts built without notifications (tests, `dispenser down`). */
export const NO_EVENTS: EventSink = { emit: () => undefined };
