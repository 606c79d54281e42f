import type { ListenSocket } from '@dispenser/shared/ipc/listen-sockets';
import type { Logger } from '@dispenser/shared/log';
import { inspectSocket, type SocketInspection } from './socket-inspect.js';

/**
 * systemd socket activation (sd_listen_fds(3)): the service manager, or any holder speaking the
 * same protocol, opens the proxy's listening sockets and passes them from descriptor 3 on. They
 * outlive the daemon, so connections wait in the kernel's backlog across a restart or a package
 * upgrade instead of being refused.
 */
const FIRST_FD = 3;

export interface ActivationResult {
  /** listening TCP sockets, with the descriptor numbers they have in this process */
  sockets: ListenSocket[];
}

/**
 * Takes the activated sockets out of `env`: LISTEN_PID has to name this process (the variables
 * are inherited by anything a wrapper starts, and a child must not take a parent's sockets for
 * its own), and the variables are removed either way so that no child of the daemon reads them.
 */
export function takeActivatedSockets(log: Logger, env: NodeJS.ProcessEnv = process.env, pid = process.pid, inspect: (fd: number) => SocketInspection = inspectSocket): ActivationResult {
  const listenPid = env.LISTEN_PID;
  const listenFds = env.LISTEN_FDS;
  const names = env.LISTEN_FDNAMES?.split(':') ?? [];
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (listenFds === undefined && listenPid === undefined) return { sockets: [] };
  if (listenPid !== String(pid)) {
    log.warn({ code: 'SOCKET_ACTIVATION_OTHER_PID', listenPid, pid }, `ignored LISTEN_FDS: the sockets were passed to process ${listenPid ?? '(unset)'}, not to this one (${pid}); binding the proxy ports directly`);
    return { sockets: [] };
  }
  const count = Number(listenFds);
  if (!Number.isInteger(count) || count < 0) {
    log.warn({ code: 'SOCKET_ACTIVATION_INVALID', listenFds }, `ignored LISTEN_FDS=${listenFds ?? ''}: not a count of descriptors; binding the proxy ports directly`);
    return { sockets: [] };
  }
  const sockets: ListenSocket[] = [];
  for (let i = 0; i < count; i++) {
    const fd = FIRST_FD + i;
    const name = names[i] || 'unknown';
    const found = inspect(fd);
    if (found.kind === 'tcp-listen') {
      sockets.push({ fd, name, port: found.bound.port, address: found.bound.address });
    } else if (found.kind === 'unknown') {
      // no /proc: trust the unit; the workers match it by name
      sockets.push({ fd, name });
    } else {
      log.warn(
        { code: 'SOCKET_ACTIVATION_UNUSABLE', fd, name, found: found.kind },
        `ignored activated descriptor ${fd} (${name}): ${found.kind === 'not-a-socket' ? 'not a socket' : 'not a listening TCP socket'}`,
      );
    }
  }
  log.info({ sockets: sockets.map(describe) }, `socket activation: ${sockets.length} listening socket(s) from the service manager`);
  return { sockets };
}

export function describe(s: ListenSocket): string {
  return s.port === undefined ? `${s.name} (fd ${s.fd})` : `${s.name} ${s.address ?? '*'}:${s.port}`;
}

interface PortSettings {
  enabled: boolean;
  strategy: string;
  httpPort: number;
  httpsPort: number;
}

/**
 * Compares the activated sockets with the configured ports once the orchestrator has read the
 * configuration (and again when a reload changes them). A configured port with a matching socket
 * is served on that socket; any other port is bound by the workers as without activation. A
 * socket nothing uses still holds its port open in the service manager: connections to it are
 * accepted by the kernel and then wait, so that is reported as a warning with what to edit.
 */
export function reportSocketUse(log: Logger, sockets: readonly ListenSocket[], settings: PortSettings): void {
  if (sockets.length === 0) return;
  const wanted: Array<{ name: 'http' | 'https'; port: number }> = [];
  if (settings.enabled) {
    wanted.push({ name: 'http', port: settings.httpPort });
    if (settings.strategy !== 'http-only') wanted.push({ name: 'https', port: settings.httpsPort });
  }
  const used = new Set<ListenSocket>();
  for (const w of wanted) {
    const s = sockets.find((x) => (x.port === undefined ? x.name === w.name : x.port === w.port));
    if (s) {
      used.add(s);
      continue;
    }
    log.warn(
      { code: 'SOCKET_ACTIVATION_PORT_MISMATCH', listener: w.name, port: w.port, activated: sockets.map(describe) },
      `[proxy] ${w.name}_port = ${w.port} has no activated socket: the workers bind it themselves (connections are refused while dispenser restarts)`,
    );
  }
  for (const s of sockets) {
    if (used.has(s)) continue;
    log.warn(
      { code: 'SOCKET_ACTIVATION_UNUSED', socket: describe(s) },
      `activated socket ${describe(s)} matches no configured proxy port: the service manager keeps it open and its connections are never answered; edit the socket unit's ListenStream= and dispenser.toml together (docs/operations.md, Socket activation)`,
    );
  }
}
