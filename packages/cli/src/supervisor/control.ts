import { DispenserError } from '@dispenser/shared/errors';
import { isAlive, isDispenser, readPid } from './pid-file.js';

export type ControlSignal = 'reload' | 'stop';

const signals: Record<ControlSignal, NodeJS.Signals> = { reload: 'SIGHUP', stop: 'SIGTERM' };

/** `dispenser -s reload|stop`: signals the daemon named by the pid file. Returns its pid. */
export function signalDaemon(pidFile: string, action: ControlSignal): number {
  const pid = readPid(pidFile);
  if (pid === undefined) {
    throw new DispenserError('DAEMON_NOT_RUNNING', `no dispenser is running: pid file ${pidFile} does not exist or holds no pid`, {
      hint: 'start it with `dispenser -c FILE` (or systemctl start dispenser), or point -p/--pid-file (or -c) at the running one',
    });
  }
  if (!isDispenser(pid)) {
    throw new DispenserError('DAEMON_NOT_RUNNING', `no dispenser is running: pid file ${pidFile} names process ${pid}, which is gone (stale pid file)`, {
      hint: 'the daemon exited without cleaning up; start it again, or remove the stale pid file',
    });
  }
  try {
    process.kill(pid, signals[action]);
  } catch (err) {
    throw new DispenserError('SIGNAL_FAILED', `cannot send ${signals[action]} to dispenser (pid ${pid}): ${(err as Error).message}`, {
      hint: 'run as the user that runs the daemon (or root)',
    });
  }
  return pid;
}

/** Resolves true once the process has exited, false if it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
