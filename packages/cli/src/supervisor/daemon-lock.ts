import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { DispenserError } from '@dispenser/shared/errors';

/**
 * One daemon per configuration directory, held by every process of that daemon.
 *
 * The lock is a Linux abstract unix socket whose name is derived from the real path of the config
 * directory. The supervisor binds it and hands the listening descriptor to each child it forks
 * (an extra stdio slot), so the name stays taken while ANY process of the daemon is alive: an
 * orchestrator or proxy worker orphaned by a `kill -9` of the supervisor still holds it, and a new
 * daemon refuses to start beside it. Why this and not the alternatives:
 * - the kernel releases the name when the last descriptor closes, however the processes die:
 *   nothing stale is left behind, unlike a lock file or the pid file;
 * - a child holds it from the moment it is forked (the descriptor is inherited), with no window
 *   before it could take a lock of its own;
 * - flock would need a native addon (Node has none), and fcntl locks are not inherited at all.
 * Abstract names live in the network namespace: daemons in different containers do not see each
 * other, which is what one wants there. Processes the children start (credential helpers) inherit
 * the descriptor too while they run; they are part of the daemon's work.
 */
export interface DaemonLock {
  /** the listening descriptor children inherit */
  readonly fd: number;
  readonly name: string;
  release(): void;
}

/** "\0dispenser/<hash of the real config dir>": at most 108 bytes, stable across symlinks */
export function lockName(configDir: string): string {
  let real: string;
  try {
    real = realpathSync(configDir);
  } catch {
    real = configDir;
  }
  return `\0dispenser/${createHash('sha256').update(real).digest('hex').slice(0, 40)}`;
}

/** false off Linux: there are no abstract sockets; the pid file is then the only guard */
export function lockSupported(): boolean {
  return process.platform === 'linux';
}

const LOCK_HINT = 'the lock is an abstract unix socket: the daemon must be allowed AF_UNIX sockets (systemd RestrictAddressFamilies=, seccomp filters)';

export async function acquireDaemonLock(configDir: string): Promise<DaemonLock> {
  const name = lockName(configDir);
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw alreadyRunning(configDir, lockHolders(name));
    throw new DispenserError('DAEMON_LOCK_FAILED', `cannot take the daemon lock for ${configDir}: ${(err as Error).message}`, { cause: err, hint: LOCK_HINT });
  }
  // Node exposes no public accessor for a server's descriptor; the handle's fd is what libuv uses
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    server.close();
    throw new DispenserError('DAEMON_LOCK_FAILED', `cannot take the daemon lock for ${configDir}: the socket has no descriptor to hand to the children`, { hint: LOCK_HINT });
  }
  server.unref();
  return { fd, name, release: () => closeQuietly(server) };
}

function closeQuietly(server: Server): void {
  try {
    server.close();
  } catch {
    // already closed
  }
}

export interface LockHolder {
  pid: number;
  /** its process title, e.g. "dispenser: orchestrator" */
  title: string;
}

/**
 * Processes holding the abstract socket `name`: its inode from /proc/net/unix, then every
 * /proc/<pid>/fd pointing at it. Processes of other users cannot be looked into (then the list
 * may be empty; the error still says the lock is held).
 */
export function lockHolders(name: string): LockHolder[] {
  const shown = `@${name.slice(1)}`;
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return [];
  }
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // Node binds the whole sun_path: the name shows padded with NULs, printed as '@'
    const path = cols[7];
    if (path?.startsWith(shown) && /^@*$/.test(path.slice(shown.length)) && cols[6]) inodes.add(cols[6]);
  }
  if (inodes.size === 0) return [];
  const targets = new Set([...inodes].map((i) => `socket:[${i}]`));
  const holders: LockHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return targets.has(readlinkSync(`/proc/${entry}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    if (holds) holders.push({ pid: Number(entry), title: processTitle(Number(entry)) });
  }
  return holders;
}

function processTitle(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

function alreadyRunning(configDir: string, holders: readonly LockHolder[]): DispenserError {
  const who = holders.length ? holders.map((h) => `pid ${h.pid} (${h.title})`).join(', ') : 'a process this user cannot see';
  const pids = holders.map((h) => h.pid).join(' ');
  return new DispenserError('DAEMON_STILL_RUNNING', `another dispenser for ${configDir} is still running: ${who}`, {
    hint: holders.length
      ? `stop it with \`dispenser -s stop\`; processes left behind by a killed supervisor exit by themselves within a second, otherwise end them (kill ${pids})`
      : 'stop the other daemon (it may run as another user) before starting this one',
  });
}
