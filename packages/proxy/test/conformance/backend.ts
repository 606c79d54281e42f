import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { parseRequests, type SeenRequest } from './wire.js';

/**
 * The recording backend: raw TCP servers on loopback (one per route: 'root' for `/`, 'public' for
 * `/public`) that keep every byte received per connection, parse requests strictly (noting
 * ambiguous framing rather than resolving it) and answer each complete request with a canned raw
 * response chosen by the current case. Keep-alive by default, so upstream connection reuse shows.
 */

export interface Canned {
  /** bytes written as they are */
  raw: string | Buffer;
  /** after writing: keep the connection for the next request (default), close it, or go silent */
  then?: 'keep' | 'close' | 'hang';
}

export type Responder = (req: SeenRequest) => Canned | undefined;

export interface ConnRecord {
  id: number;
  backend: string;
  bytes: Buffer;
  /** bytes.length at the last reset: what came before belongs to earlier cases */
  mark: number;
  closed: boolean;
  /** since the last reset: bytes that are no request at all (garbage, a body without framing) */
  problems: string[];
}

/** The default answer: 200, keep-alive, body "<backend> <method> <url>". */
export function echo(req: SeenRequest): Canned {
  const body = `${req.backend} ${req.method} ${req.url}`;
  return { raw: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Backend: ${req.backend}\r\n\r\n${body}` };
}

export class RecordingBackend {
  readonly ports: Record<string, number> = {};
  readonly connections: ConnRecord[] = [];
  readonly requests: SeenRequest[] = [];
  /** the current case's answers; requests to a /followup path always get the echo */
  responder: Responder | undefined;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private nextConn = 1;

  async start(names: string[] = ['root', 'public']): Promise<this> {
    for (const name of names) {
      const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(name, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      this.ports[name] = (server.address() as AddressInfo).port;
      this.servers.push(server);
    }
    return this;
  }

  /** Forget what was recorded (connections stay open: reuse across cases is part of what is tested). */
  reset(responder?: Responder): void {
    const open = this.connections.filter((c) => !c.closed);
    this.connections.length = 0;
    for (const c of open) {
      c.mark = c.bytes.length;
      c.problems = [];
      this.connections.push(c);
    }
    this.requests.length = 0;
    this.responder = responder;
  }

  /** Connections that received bytes since the last reset. */
  touched(): ConnRecord[] {
    return this.connections.filter((c) => c.bytes.length > c.mark);
  }

  /** Requests recorded since the last reset, excluding follow-up probes. */
  caseRequests(): SeenRequest[] {
    return this.requests.filter((r) => !r.url.includes('/followup'));
  }

  private accept(name: string, socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const rec: ConnRecord = { id: this.nextConn++, backend: name, bytes: Buffer.alloc(0), mark: 0, closed: false, problems: [] };
    this.connections.push(rec);
    let buf = Buffer.alloc(0);
    /** requests of this connection already answered, and the entry of the one in progress */
    let answered = 0;
    let current: SeenRequest[] = [];
    let silent = false;
    socket.on('data', (chunk: Buffer) => {
      rec.bytes = Buffer.concat([rec.bytes, chunk]);
      if (silent) return;
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseRequests(buf);
      // replace this connection's unanswered entries with the fresh parse
      for (const r of current) {
        const i = this.requests.indexOf(r);
        if (i >= 0) this.requests.splice(i, 1);
      }
      current = parsed.requests.map((r) => ({ ...r, backend: name, conn: rec.id }));
      this.requests.push(...current);
      while (answered < current.length && current[answered]!.complete) {
        const req = current[answered]!;
        answered++;
        const canned = (req.url.includes('/followup') ? undefined : this.responder?.(req)) ?? echo(req);
        socket.write(canned.raw);
        if (canned.then === 'close') {
          silent = true;
          socket.end();
          return;
        }
        if (canned.then === 'hang') {
          silent = true;
          return;
        }
      }
      if (parsed.broken) {
        rec.problems.push(`unparseable request bytes: ${parsed.broken}`);
        silent = true;
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      if (answered === current.length) {
        // everything parsed was answered: keep only the unparsed tail, entries stay recorded
        buf = buf.subarray(parsed.consumed);
        current = [];
        answered = 0;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      // bytes after the last complete request that never became a request head
      const tail = silent ? Buffer.alloc(0) : buf.subarray(current.length === answered ? 0 : buf.length);
      if (tail.length && tail.indexOf('\r\n\r\n') < 0) rec.problems.push(`stray bytes at close: ${JSON.stringify(tail.subarray(0, 40).toString('latin1'))}`);
      rec.closed = true;
      this.sockets.delete(socket);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
