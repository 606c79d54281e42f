import { execFile } from 'node:child_process';
import type { Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';

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

/** Runs `systemd-notify` with these arguments; calls back when it has exited. */
export type NotifyRunner = (args: string[], done: (err: Error | null) => void) => void;

const runSystemdNotify: NotifyRunner = (args, done) => void execFile('systemd-notify', args, (err) => done(err));

export function serviceManager(log: Logger, env: NodeJS.ProcessEnv = process.env, run: NotifyRunner = runSystemdNotify): ServiceManager {
  if (!env.NOTIFY_SOCKET) return { ready() {}, reloading() {}, stopping() {} };
  // One helper at a time: two concurrent systemd-notify processes can deliver out of order, and a
  // fast reload's READY=1 arriving before its RELOADING=1 leaves systemd waiting for a reload end.
  const queue = new SerialQueue();
  const notify = (...assignments: string[]): void => {
    void queue.run(
      () =>
        new Promise<void>((resolve) => {
          run([`--pid=${process.pid}`, ...assignments], (err) => {
            if (err) log.warn({ err: err.message, assignments }, 'systemd-notify failed');
            resolve();
          });
        }),
    );
  };
  return {
    ready: () => notify('READY=1'),
    // notify-reload units want the monotonic clock of the reload start, in microseconds
    reloading: () => notify('RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`),
    stopping: () => notify('STOPPING=1'),
  };
}
