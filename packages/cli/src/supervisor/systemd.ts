import { execFile } from 'node:child_process';
import type { Logger } from '@dispenser/shared/log';

/**
 * Tells systemd about readiness, reloads and shutdown (Type=notify / notify-reload units).
 * Node has no unix datagram sockets, so this runs `systemd-notify`; with --pid naming the
 * supervisor, the unit needs NotifyAccess=all when the helper's pid is not the main pid.
 */
export interface ServiceManager {
  ready(): void;
  reloading(): void;
  stopping(): void;
}

export function serviceManager(log: Logger, env: NodeJS.ProcessEnv = process.env): ServiceManager {
  if (!env.NOTIFY_SOCKET) return { ready() {}, reloading() {}, stopping() {} };
  const notify = (...assignments: string[]): void => {
    execFile('systemd-notify', [`--pid=${process.pid}`, ...assignments], (err) => {
      if (err) log.warn({ err: err.message, assignments }, 'systemd-notify failed');
    });
  };
  return {
    ready: () => notify('READY=1'),
    // notify-reload units want the monotonic clock of the reload start, in microseconds
    reloading: () => notify('RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`),
    stopping: () => notify('STOPPING=1'),
  };
}
