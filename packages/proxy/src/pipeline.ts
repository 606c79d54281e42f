import type { Socket } from 'node:net';

/**
 * HTTP/1.1 pipelining, one request at a time per client connection, as nginx does it. Node parses
 * every pipelined request in a read and hands each to the handler at once (it only orders the
 * responses), so without this one connection could hold any number of upstream requests open. A
 * request that arrives while an earlier one on its connection is being forwarded waits here; a
 * connection that piles up more than MAX_WAITING is closed; waiting requests whose client left
 * are dropped, never forwarded.
 */

export const MAX_WAITING = 32;

export interface PipelinedJob {
  start(): void;
  /** the client left before the job started */
  cancel(): void;
}

export class Pipeline {
  private busy = false;
  private readonly waiting: PipelinedJob[] = [];

  constructor(socket: Socket) {
    socket.once('close', () => {
      for (const job of this.waiting.splice(0)) job.cancel();
    });
  }

  /** Runs `job` now or after the jobs ahead of it; false when too many are waiting. */
  submit(job: PipelinedJob): boolean {
    if (!this.busy) {
      this.busy = true;
      job.start();
      return true;
    }
    if (this.waiting.length >= MAX_WAITING) return false;
    this.waiting.push(job);
    return true;
  }

  /** The running job settled: start the next one. */
  next(): void {
    const job = this.waiting.shift();
    if (job) job.start();
    else this.busy = false;
  }
}

const pipelines = new WeakMap<Socket, Pipeline>();

export function pipelineOf(socket: Socket): Pipeline {
  let line = pipelines.get(socket);
  if (!line) pipelines.set(socket, (line = new Pipeline(socket)));
  return line;
}
