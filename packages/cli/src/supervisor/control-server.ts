import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { MAX_CONTROL_CONNECTIONS, STATUS_WATCH_INTERVAL_MS } from '@dispenser/shared/defaults';
import { codeOr, DispenserError, errorMessage } from '@dispenser/shared/errors';
import { encodeFrame, frames, LineSplitter, MAX_REQUEST_LINE_BYTES, parseRequest, type ControlRequest, type History, type HistoryParams, type LogsParams, type RequestId } from '@dispenser/shared/control/protocol';
import { statusChanged, type Status } from '@dispenser/shared/control/status';
import type { Logger } from '@dispenser/shared/log';
import type { LogsSink } from './orchestrator-requests.js';

/** What the control socket answers from: the supervisor. */
export interface ControlBackend {
  status(): Promise<Status>;
  /** starts a log stream; returns the function that cancels it */
  logs(params: LogsParams, sink: LogsSink): () => void;
  /** `dispenser history`: entries of the deploy ledger, newest first */
  history(params: HistoryParams): History;
}

export interface ControlServerOptions {
  path: string;
  backend: ControlBackend;
  log: Logger;
  /** `status --watch`: how often to look for a change */
  watchIntervalMs?: number;
  maxConnections?: number;
}

/** owner and group read/write: root and the daemon's group, nobody else */
const SOCKET_MODE = 0o660;

/**
 * The daemon's control socket (`.dispenser/control.sock`): the `dispenser status` and `logs`
 * commands connect here. Only one daemon per configuration directory holds the daemon lock, and
 * this starts after it is taken, so a socket found at the path is a dead daemon's and is removed.
 */
export class ControlServer {
  private server: Server | undefined;
  private readonly connections = new Set<Socket>();
  private readonly closers = new Set<() => void>();

  constructor(private readonly options: ControlServerOptions) {}

  /** Throws CONTROL_SOCKET_FAILED when the socket cannot be created. */
  async listen(): Promise<void> {
    const { path } = this.options;
    try {
      prepareDirectory(dirname(path));
      removeStale(path);
      const server = createServer((socket) => this.connection(socket));
      server.maxConnections = this.options.maxConnections ?? MAX_CONTROL_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      chmodSync(path, SOCKET_MODE);
      // the group of the state directory (the `dispenser` group in the packaged layout), so its
      // members may connect; a daemon not run as root may only pick one of its own groups
      const gid = statSync(dirname(path)).gid;
      try {
        chownSync(path, -1, gid);
      } catch (err) {
        this.options.log.debug({ err: errorMessage(err), gid }, 'control socket keeps the daemon group');
      }
    } catch (err) {
      throw new DispenserError('CONTROL_SOCKET_FAILED', `cannot create the control socket ${path}: ${errorMessage(err)}`, {
        cause: err,
        hint: "make the configuration directory writable by the daemon's user; `dispenser status` and `logs` cannot reach this daemon meanwhile",
      });
    }
    this.options.log.info({ socket: path }, 'control socket listening');
  }

  /** Ends every stream, closes the socket and removes its file. */
  close(): void {
    for (const close of this.closers) close();
    for (const socket of this.connections) socket.destroy();
    if (!this.server) return;
    this.server.close();
    this.server = undefined;
    try {
      unlinkSync(this.options.path);
    } catch {
      // already gone
    }
  }

  private connection(socket: Socket): void {
    this.connections.add(socket);
    const cleanups = new Set<() => void>();
    const closeAll = (): void => {
      for (const c of cleanups) c();
      cleanups.clear();
    };
    socket.on('close', () => {
      this.connections.delete(socket);
      closeAll();
    });
    socket.on('error', () => socket.destroy());
    const lines = new LineSplitter(MAX_REQUEST_LINE_BYTES);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const { lines: got, overflow } = lines.push(chunk);
      if (overflow) {
        write(socket, frames.error(null, { code: 'CONTROL_BAD_REQUEST', message: `a request line is longer than ${MAX_REQUEST_LINE_BYTES} bytes` }));
        socket.end();
        return;
      }
      for (const line of got) {
        const parsed = parseRequest(line);
        if (!parsed.ok) {
          write(socket, frames.error(parsed.id, parsed.error));
          continue;
        }
        const cleanup = this.dispatch(socket, parsed.request);
        if (cleanup) {
          cleanups.add(cleanup);
          this.closers.add(cleanup);
          socket.once('close', () => this.closers.delete(cleanup));
        }
      }
    });
  }

  /** answers one request; returns how to stop it when it is a stream */
  private dispatch(socket: Socket, request: ControlRequest): (() => void) | undefined {
    const id = request.id;
    switch (request.method) {
      case 'status':
        if (request.params.watch) return this.watchStatus(socket, id);
        void this.options.backend.status().then((status) => write(socket, frames.result(id, status)));
        return undefined;
      case 'logs': {
        let done = false;
        const cancel = this.options.backend.logs(request.params, {
          chunk: (stream, text) => write(socket, frames.event(id, { stream, text })),
          end: (error) => {
            done = true;
            write(socket, error ? frames.error(id, error) : frames.end(id));
          },
        });
        return () => {
          if (!done) cancel();
        };
      }
      case 'history':
        try {
          write(socket, frames.result(id, this.options.backend.history(request.params)));
        } catch (err) {
          const hint = err instanceof DispenserError ? err.hint : undefined;
          write(socket, frames.error(id, { code: codeOr(err, 'LEDGER_UNREADABLE'), message: errorMessage(err), ...(hint ? { hint } : {}) }));
        }
        return undefined;
    }
  }

  /** a status now, then each time it changes (uptime aside), until the client leaves */
  private watchStatus(socket: Socket, id: RequestId): () => void {
    let last: Status | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async (): Promise<void> => {
      const status = await this.options.backend.status();
      if (stopped) return;
      if (!last || statusChanged(last, status)) write(socket, frames.event(id, status));
      last = status;
      timer = setTimeout(() => void tick(), this.options.watchIntervalMs ?? STATUS_WATCH_INTERVAL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (!socket.destroyed) write(socket, frames.end(id));
    };
  }
}

/**
 * A client that does not read (a stopped `dispenser logs -f | less`) must not make the daemon
 * buffer a chatty container's output without end: past this, it is disconnected.
 */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

function write(socket: Socket, frame: Parameters<typeof encodeFrame>[0]): void {
  if (socket.destroyed || !socket.writable) return;
  if (socket.writableLength > MAX_UNSENT_BYTES) {
    socket.destroy();
    return;
  }
  socket.write(encodeFrame(frame));
}

/**
 * The state directory, created when missing. Group members must be able to reach the socket in
 * it: a directory without the group's search bit (other parts create it 0700) gets that bit only,
 * which lets them open a file they know the name of without listing or reading the others.
 */
function prepareDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o010) === 0) chmodSync(dir, mode | 0o010);
}

function removeStale(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error('the path exists and is not a socket');
  unlinkSync(path);
}
