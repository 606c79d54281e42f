import type { ControlError, LogsParams } from '@dispenser/shared/control/protocol';
import type { OrchestratorAnswer } from '@dispenser/shared/control/status';
import type { ErrorCode } from '@dispenser/shared/errors';
import type { Message } from '@dispenser/shared/ipc/messages';

export interface LogsSink {
  chunk(stream: 'stdout' | 'stderr', text: string): void;
  /** the stream is over; `error` when it failed */
  end(error?: ControlError): void;
}

interface PendingStatus {
  resolve(answer: OrchestratorAnswer): void;
  timer: NodeJS.Timeout;
}

/**
 * The control requests the supervisor has passed on to the orchestrator, by id: each answer is
 * matched to its request, a request without answer in time is answered for it, and when the
 * orchestrator exits every open one ends (its replacement knows nothing of them).
 */
export class OrchestratorRequests {
  private nextId = 1;
  private readonly statuses = new Map<number, PendingStatus>();
  private readonly logStreams = new Map<number, LogsSink>();

  /** `send` returns false when there is no orchestrator to send to */
  constructor(private readonly send: (msg: Message) => boolean) {}

  status(timeoutMs: number): Promise<OrchestratorAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answerStatus(id, { ok: false, reason: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
      this.statuses.set(id, { resolve, timer });
      if (!this.send({ type: 'status-request', id })) this.answerStatus(id, { ok: false, reason: 'it is restarting' });
    });
  }

  /** starts a log stream; returns the function that cancels it */
  logs(params: LogsParams, sink: LogsSink): () => void {
    const id = this.nextId++;
    this.logStreams.set(id, sink);
    const msg: Message = {
      type: 'logs-request',
      id,
      service: params.service,
      follow: params.follow ?? false,
      ...(params.tail !== undefined ? { tail: params.tail } : {}),
      ...(params.since !== undefined ? { since: params.since } : {}),
    };
    if (!this.send(msg)) this.endLogs(id, unavailable('the orchestrator is restarting'));
    return () => {
      if (this.logStreams.delete(id)) this.send({ type: 'logs-cancel', id });
    };
  }

  /** an answer from the orchestrator; false when the message is none of these */
  handle(msg: Message): boolean {
    switch (msg.type) {
      case 'status-reply':
        this.answerStatus(msg.id, { ok: true, facts: msg.facts });
        return true;
      case 'logs-chunk':
        this.logStreams.get(msg.id)?.chunk(msg.stream, msg.text);
        return true;
      case 'logs-end':
        this.endLogs(msg.id, msg.error ? { code: msg.error.code as ErrorCode, message: msg.error.message, ...(msg.error.hint ? { hint: msg.error.hint } : {}) } : undefined);
        return true;
      default:
        return false;
    }
  }

  /** the orchestrator exited: nothing it was asked will be answered */
  orchestratorGone(): void {
    for (const id of [...this.statuses.keys()]) this.answerStatus(id, { ok: false, reason: 'it exited' });
    for (const id of [...this.logStreams.keys()]) this.endLogs(id, unavailable('the orchestrator exited while streaming'));
  }

  private answerStatus(id: number, answer: OrchestratorAnswer): void {
    const pending = this.statuses.get(id);
    if (!pending) return;
    this.statuses.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  private endLogs(id: number, error: ControlError | undefined): void {
    const sink = this.logStreams.get(id);
    if (!sink) return;
    this.logStreams.delete(id);
    sink.end(error);
  }
}

function unavailable(message: string): ControlError {
  return { code: 'ORCHESTRATOR_UNAVAILABLE', message, hint: 'try again in a few seconds; the daemon log says why the orchestrator restarted' };
}
