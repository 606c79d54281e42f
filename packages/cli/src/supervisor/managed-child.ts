import type { Logger } from '@dispenser/shared/log';
import type { Message } from '@dispenser/shared/ipc/messages';
import type { ChildHandle } from './child-process.js';
import { RestartBackoff, type BackoffOptions } from './restart-backoff.js';

export interface ManagedChildEvents {
  started(child: ChildHandle): void;
  message(msg: Message, child: ChildHandle): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * One child slot (the orchestrator, or proxy worker N): keeps a child running, restarting it with
 * exponential backoff and a log line saying why, until stop() is called.
 */
export class ManagedChild {
  private current: ChildHandle | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exitWaiters: Array<() => void> = [];
  private readonly backoff: RestartBackoff;

  constructor(
    private readonly name: string,
    private readonly spawn: () => ChildHandle,
    private readonly log: Logger,
    private readonly events: ManagedChildEvents,
    backoff?: BackoffOptions,
  ) {
    this.backoff = new RestartBackoff(backoff);
  }

  get child(): ChildHandle | undefined {
    return this.current;
  }

  start(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    let child: ChildHandle;
    try {
      child = this.spawn();
    } catch (err) {
      this.scheduleRestart(`could not start: ${(err as Error).message}`, 0);
      return;
    }
    this.current = child;
    this.startedAt = Date.now();
    child.onMessage(
      (msg) => {
        // a fatal can arrive after the exit event; it still has to stop the restart loop
        if (this.current === child || msg.type === 'fatal') this.events.message(msg, child);
      },
      (raw) => this.log.warn({ child: this.name, received: typeof raw }, 'ignored a message that is not valid IPC protocol'),
    );
    child.onExit((code, signal) => {
      if (this.current !== child) return;
      this.current = undefined;
      const uptimeMs = Date.now() - this.startedAt;
      this.events.exited(code, signal);
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      for (const w of waiters) w();
      if (this.stopping) {
        this.log.info({ child: this.name, childPid: child.pid, code, signal }, `${this.name} exited`);
        return;
      }
      this.scheduleRestart(signal ? `killed by ${signal}` : `exited with code ${code}`, uptimeMs, child.pid);
    });
    this.log.info({ child: this.name, childPid: child.pid }, `${this.name} started`);
    this.events.started(child);
  }

  private scheduleRestart(reason: string, uptimeMs: number, pid?: number): void {
    const delayMs = this.backoff.next(uptimeMs);
    this.log.error(
      { child: this.name, childPid: pid, reason, uptimeMs, restartInMs: delayMs, attempt: this.backoff.attempts },
      `${this.name} ${reason}; restarting in ${delayMs} ms`,
    );
    this.restartTimer = setTimeout(() => this.start(), delayMs);
  }

  send(msg: Message): void {
    this.current?.send(msg);
  }

  /**
   * No more restarts. Sends `drain` (when given) and resolves once the child has exited, killing
   * it with SIGKILL if it is still there after `killAfterMs`.
   */
  stop(drain: Message | undefined, killAfterMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.current;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ child: this.name, childPid: child.pid, afterMs: killAfterMs }, `${this.name} did not exit in time; killing it`);
        child.kill('SIGKILL');
      }, killAfterMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      if (drain) child.send(drain);
      else child.kill('SIGTERM');
    });
  }
}
