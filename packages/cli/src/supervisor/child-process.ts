import { fork, type ChildProcess } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import { envelope, parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { encodeListenSockets, LISTEN_SOCKETS_ENV, type ListenSocket } from '@dispenser/shared/ipc/listen-sockets';
import { proxyWorkerExecArgv } from '@dispenser/proxy/exec-argv';

/** What the supervisor needs from one running child, whether forked directly or through cluster. */
export interface ChildHandle {
  readonly pid: number | undefined;
  send(msg: Message): void;
  kill(signal: NodeJS.Signals): void;
  /** valid protocol messages; anything else is passed to onInvalid */
  onMessage(cb: (msg: Message) => void, onInvalid: (raw: unknown) => void): void;
  onExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

function wrap(proc: ChildProcess, on: Pick<ChildProcess, 'on'> = proc): ChildHandle {
  const exitCallbacks: Array<(code: number | null, signal: NodeJS.Signals | null) => void> = [];
  // An unhandled 'error' would crash the supervisor. A child that could not be spawned never
  // emits 'exit', so report it as one and let the restart policy deal with it; other errors
  // (a failed send or kill) are followed by 'exit' anyway.
  const onError = (): void => {
    if (proc.pid === undefined) for (const cb of exitCallbacks.splice(0)) cb(null, null);
  };
  proc.on('error', onError);
  if (on !== proc) on.on('error', () => undefined);
  return {
    get pid() {
      return proc.pid;
    },
    send(msg) {
      // a child that is exiting may have closed its channel; its exit handler deals with it
      if (proc.connected) proc.send(envelope(msg), (err) => void err);
    },
    kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    onMessage(cb, onInvalid) {
      on.on('message', (raw: unknown) => {
        const msg = parseMessage(raw);
        if (msg) cb(msg);
        else onInvalid(raw);
      });
    },
    onExit(cb) {
      exitCallbacks.push(cb);
      on.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        const i = exitCallbacks.indexOf(cb);
        if (i >= 0) exitCallbacks.splice(i, 1);
        cb(code, signal);
      });
    },
  };
}

/**
 * stdio of a child: the supervisor's own streams, the IPC channel, and the daemon lock's
 * descriptor (supervisor/daemon-lock.ts), which the child holds, untouched, for its lifetime.
 */
function childStdio(lockFd: number | undefined): Array<'inherit' | 'ipc' | number> {
  return lockFd === undefined ? ['inherit', 'inherit', 'inherit', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc', lockFd];
}

/**
 * Socket-activated listening sockets go to every worker as extra stdio entries, after the lock:
 * each worker gets its own duplicate, so a worker that exits (and closes its copy) takes nothing
 * from the supervisor, which keeps the originals for the next worker. The returned list names
 * each socket by the descriptor number it has in the worker.
 */
export function workerStdio(base: Array<'inherit' | 'ipc' | number>, sockets: readonly ListenSocket[]): { stdio: Array<'inherit' | 'ipc' | number>; inWorker: ListenSocket[] } {
  const stdio = [...base];
  const inWorker: ListenSocket[] = [];
  for (const s of sockets) {
    inWorker.push({ ...s, fd: stdio.length });
    stdio.push(s.fd);
  }
  return { stdio, inWorker };
}

export function forkOrchestrator(entry: string, env: NodeJS.ProcessEnv, lockFd?: number): ChildHandle {
  return wrap(fork(entry, [], { env, stdio: childStdio(lockFd) }));
}

let clusterReady = false;
let workerSocketsEnv: string | undefined;

/**
 * Proxy workers run under node:cluster so they share the listening sockets. SCHED_NONE lets the
 * kernel spread connections (round-robin in the primary would put the supervisor on the data
 * path); it has to be set before the first fork.
 *
 * `gid`: our own, so nothing changes but this: libuv's child calls setgroups(0, NULL) before
 * exec, and the worker starts without the supplementary groups (the `docker` group: root access).
 * That takes CAP_SETGID in the supervisor; without it the worker keeps them and says so
 * (PROXY_PRIVILEGES_KEPT). The orchestrator is forked without: it needs the docker group.
 */
export function forkProxyWorker(entry: string, index: number, lockFd?: number, sockets: readonly ListenSocket[] = []): ChildHandle {
  if (!clusterReady) {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const { stdio, inWorker } = workerStdio(childStdio(lockFd), sockets);
    cluster.setupPrimary({ exec: entry, args: [], silent: false, stdio, execArgv: [...process.execArgv, ...proxyWorkerExecArgv], gid: process.getgid?.() });
    workerSocketsEnv = inWorker.length ? encodeListenSockets(inWorker) : undefined;
    clusterReady = true;
  }
  const env: Record<string, string> = { DISPENSER_WORKER_INDEX: String(index) };
  if (workerSocketsEnv) env[LISTEN_SOCKETS_ENV] = workerSocketsEnv;
  const worker: Worker = cluster.fork(env);
  // cluster's Worker emits 'message' and 'exit' itself; the ChildProcess is for pid/kill/send
  return wrap(worker.process, worker as unknown as Pick<ChildProcess, 'on'>);
}
