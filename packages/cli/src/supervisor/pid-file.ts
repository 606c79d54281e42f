import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { DispenserError } from '@dispenser/shared/errors';

/**
 * The pid file: written when the daemon starts, removed when it exits, read by `-s`.
 * A pid file naming a live dispenser process makes a second daemon refuse to start; one naming a
 * dead (or recycled, non-dispenser) process is stale and replaced.
 */

/** The pid in the file, or undefined when there is no file or it holds no pid. */
export function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DispenserError('PID_FILE_UNREADABLE', `cannot read pid file ${path}: ${(err as Error).message}`, {
      hint: 'let the user running dispenser read it, or choose another -p/--pid-file',
    });
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A live process whose command line says it is dispenser (pids get recycled after a crash). */
export function isDispenser(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dispenser');
  } catch {
    // no /proc (not Linux) or no access: trust that the process is alive
    return true;
  }
}

/** Writes our pid; throws PID_FILE_IN_USE when another live dispenser owns the file. */
export function acquirePidFile(path: string, pid = process.pid): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new DispenserError('PID_FILE_UNWRITABLE', `cannot write pid file ${path}: ${(err as Error).message}`, {
          hint: 'choose a writable location with -p/--pid-file',
        });
      }
      const other = readPid(path);
      if (other !== undefined && other !== pid && isDispenser(other)) {
        throw new DispenserError('PID_FILE_IN_USE', `dispenser is already running with pid ${other} (pid file ${path})`, {
          hint: 'stop it with `dispenser -s stop`, or use another -p/--pid-file',
        });
      }
      // stale: the process is gone
      try {
        unlinkSync(path);
      } catch {
        // raced with someone else removing it; the retry decides
      }
    }
  }
  throw new DispenserError('PID_FILE_IN_USE', `another process keeps recreating pid file ${path}`, {
    hint: 'another dispenser is starting with the same pid file; stop it, or use another -p/--pid-file',
  });
}

/** Removes the pid file if it still names us (a second daemon may have replaced a stale one). */
export function releasePidFile(path: string, pid = process.pid): void {
  try {
    if (readPid(path) === pid) unlinkSync(path);
  } catch {
    // best effort at exit
  }
}
