/**
 * Process entry of a proxy worker: `dispenser: proxy worker N`. Runs under node:cluster (the
 * supervisor sets SCHED_NONE and exec to this file) or a plain child_process.fork. Everything
 * arrives as versioned snapshots over IPC; each is acknowledged once in effect.
 */
import cluster from 'node:cluster';
// the zod-free half of the protocol: see envelope.ts
import { envelope, isSnapshot, openEnvelope } from '@dispenser/shared/ipc/envelope';
import type { Message } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import { decodeListenSockets, LISTEN_SOCKETS_ENV } from '@dispenser/shared/ipc/listen-sockets';
import { codeOr, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import { ProxyWorker } from './proxy-worker.js';
import { startProcessTuning } from './tuning/index.js';
import { LogLimiter } from './log-limiter.js';
import { workerPrivilegesKept } from './privileges.js';
import { processSamples } from '@dispenser/shared/metrics/process-samples';

const workerIndex = Number(process.env.DISPENSER_WORKER_INDEX ?? 0);
process.title = `dispenser: proxy worker ${workerIndex}`;
const log = createLogger('proxy', { worker: workerIndex });
// A worker faces the internet: the supervisor starts it without the daemon's docker group and
// capabilities (privileges.ts). Say so once if it did not (root, an old unit, no addon, a plain
// fork); the worker serves all the same.
const privileges = workerPrivilegesKept(cluster.isWorker);
if (privileges) {
  log.warn({ code: 'PROXY_PRIVILEGES_KEPT', kept: privileges.kept, reason: privileges.reason }, `proxy worker holds privileges it does not need (${privileges.kept.join('; ')}): ${privileges.reason}`);
}
const worker = new ProxyWorker(log, decodeListenSockets(process.env[LISTEN_SOCKETS_ENV]));
startProcessTuning(worker.traffic, log);

// Last line of defence. Every request path is guarded, but Node's own stream machinery can throw
// from inside one of its event emissions (an HTTP/2 stream refusing a header, say), where no
// handler of ours is on the stack. Such an error concerns one request; ending the process would
// cut every connection of every service on this worker, so it is logged and the worker goes on.
const uncaught = new LogLimiter(10, 60_000);
process.on('uncaughtException', (err: Error) => {
  const { write, suppressedBefore } = uncaught.take();
  if (write) log.error({ code: 'PROXY_UNCAUGHT_ERROR', err: err.message, stack: err.stack, ...(suppressedBefore ? { suppressed: suppressedBefore } : {}) }, `an error escaped request handling; the worker keeps serving: ${err.message}`);
});
let readySent = false;
let draining = false;

function send(msg: Message): void {
  if (process.send && process.connected) process.send(envelope(msg));
}

function fatal(code: ErrorCode, message: string): void {
  log.fatal({ code }, message);
  send({ type: 'fatal', component: 'proxy', code, message });
  // give the IPC message a moment to leave before the channel goes away
  setTimeout(() => process.exit(1), 100).unref();
}

process.on('message', (raw: unknown) => {
  const msg = openEnvelope<Message>(raw);
  if (!msg) {
    log.warn('ignored an IPC message that is not part of the protocol');
    return;
  }
  if (msg.type === 'metrics-request') {
    // answered even while draining: the worker is still up, and its counters still count
    send({ type: 'metrics-report', id: msg.id, samples: [...worker.metrics.samples(), ...processSamples(`proxy-worker-${workerIndex}`)] });
    return;
  }
  if (isSnapshot(msg)) {
    if (draining) return;
    worker.apply(msg).then(
      (outcome) => {
        if (outcome === 'stale') return;
        send({ type: 'ack', kind: msg.type, version: msg.version, worker: workerIndex });
        if (msg.type === 'proxy-settings' && !readySent) {
          readySent = true;
          log.info({ http: worker.listeners.httpPort, https: worker.listeners.httpsPort }, 'proxy worker listening');
          send({ type: 'ready', component: 'proxy', worker: workerIndex });
        }
      },
      (err: unknown) => {
        const code = codeOr(err, 'PROXY_SNAPSHOT_FAILED');
        // A worker that cannot open its listeners at start is useless: fatal. One that is already
        // serving and cannot move them (a reload onto a port someone else holds) keeps serving
        // where it is; stopping all of Dispenser over a reload would be worse.
        if (msg.type === 'proxy-settings' && readySent) {
          log.error({ code, err: errorMessage(err) }, `new proxy settings not applied, still serving with the previous ones: ${errorMessage(err)}`);
          return;
        }
        fatal(code, errorMessage(err));
      },
    );
    return;
  }
  if (msg.type === 'drain') {
    if (draining) return;
    draining = true;
    void worker.drain(msg.timeoutMs).then((how) => {
      log.info({ how }, 'proxy worker drained');
      process.exit(0);
    });
  }
});

/**
 * How long a worker orphaned by its supervisor lets requests in flight finish. It stops accepting
 * at once (its share of the listening sockets closes, so a new daemon can bind them), and it must
 * be gone within about a second: a new daemon refuses to start while any process of this one holds
 * the daemon lock, and nobody is left to ask for a graceful stop.
 */
const ORPHAN_GRACE_MS = 800;

process.on('disconnect', () => {
  // also cuts short a graceful drain that was under way when the supervisor died
  setTimeout(() => process.exit(0), ORPHAN_GRACE_MS);
  if (draining) return;
  draining = true;
  log.warn({ code: 'SUPERVISOR_GONE', graceMs: ORPHAN_GRACE_MS }, 'the supervisor is gone: no new connections; requests in flight get a moment, then this worker exits');
  void worker.drain(Math.min(ORPHAN_GRACE_MS, worker.state.settings.shutdownTimeoutMs)).then(() => process.exit(0));
});

// Signals go to the supervisor, which drains us over IPC; a stray SIGINT from a terminal's process
// group must not cut requests short.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => {
  if (draining) return;
  draining = true;
  void worker.drain(worker.state.settings.shutdownTimeoutMs).then(() => process.exit(0));
});
