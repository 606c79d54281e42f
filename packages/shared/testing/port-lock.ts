/**
 * A cross-process lock for a fixed loopback port that several test files need, such as Pebble's
 * HTTP-01 port (5002): the test runner may run files in parallel, and a second bind would fail
 * with EADDRINUSE or, worse, answer another file's challenges. The lock is a directory (mkdir is
 * atomic) holding the owner's pid; a lock whose owner died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      // The owner is between mkdir and writing its pid, unless it died right there long ago.
      try {
        if (Date.now() - statSync(dir).mtimeMs < 10_000) return false;
      } catch {
        return false;
      }
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
    rmSync(dir, { recursive: true, force: true });
    return false; // retry on the next round, so two takers of a stale lock do not both win
  }
  writeFileSync(join(dir, 'pid'), String(process.pid));
  return true;
}

/**
 * Waits until this process holds the lock for `port`; resolves with a release function (also run
 * when the process exits). Throws after timeoutMs naming the holder.
 */
export async function lockPort(port: number, timeoutMs = 180_000): Promise<() => void> {
  const dir = join(tmpdir(), `dispenser-test-port-${port}.lock`);
  const deadline = Date.now() + timeoutMs;
  while (!tryTake(dir)) {
    if (Date.now() > deadline) {
      let holder = '?';
      try {
        holder = readFileSync(join(dir, 'pid'), 'utf8');
      } catch {
        // gone meanwhile
      }
      throw new Error(`port ${port} is locked by process ${holder} (another test file) for more than ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      if (readFileSync(join(dir, 'pid'), 'utf8') === String(process.pid)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return release;
}
