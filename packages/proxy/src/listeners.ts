import { createServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { Socket as NetSocket, type Socket } from 'node:net';
import type { ProxySettings } from '@dispenser/shared/config/types';
import { DispenserError } from '@dispenser/shared/errors';
import { socketForPort, type ListenSocket } from '@dispenser/shared/ipc/listen-sockets';
import { selectContext } from './sni.js';
import { tlsProfile } from './tls-profile.js';
import { closeWhenIdle } from './session-idle.js';
import { createRequestHandler, createUpgradeHandler, type HandlerDeps } from './handler.js';
import { hasResponseInProgress, setConnectionsCheckingInterval } from './node-private.js';

/**
 * The HTTP and HTTPS listeners of one worker. `apply(settings)` opens what the strategy needs and
 * re-listens when the address changes; a listener that is being replaced stops accepting but
 * lets its open connections finish.
 */

interface Bound<S> {
  server: S;
  key: string;
  /** the inherited socket this server listens on: closing the server closes this worker's copy */
  inherited?: ListenSocket;
}

/**
 * Listens on `port`, or on the inherited socket bound to it. A cluster worker's listen({ fd })
 * asks the primary to open that descriptor number in the primary's own process; listening on a
 * handle is done by the worker itself, so the inherited descriptor is wrapped in a net.Socket
 * (neither readable nor writable: nothing reads from a listening socket) whose handle the server
 * then owns.
 */
function listen(server: Server | Http2SecureServer, port: number, host: string, inherited: ListenSocket | undefined): Promise<void> {
  const where = inherited ? `the activated socket ${inherited.name} (fd ${inherited.fd})` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new DispenserError('PROXY_LISTEN_FAILED', `cannot listen on ${where}: ${err.code ?? err.message}`, {
          cause: err,
          hint: inherited
            ? 'the socket the service manager passed is unusable; check the socket unit (systemctl status dispenser-http.socket dispenser-https.socket)'
            : err.code === 'EACCES'
              ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE'
              : err.code === 'EADDRINUSE'
                ? 'another process holds this port; stop it or change [proxy] http_port/https_port'
                : undefined,
        }),
      );
    };
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (!inherited) {
      server.listen({ port, host }, done);
      return;
    }
    let handle: NetSocket;
    try {
      handle = new NetSocket({ fd: inherited.fd, readable: false, writable: false });
    } catch (err) {
      onError(err as NodeJS.ErrnoException);
      return;
    }
    server.listen(handle, done);
  });
}

/**
 * Node checks the headers timeout of all connections on an interval fixed when the server starts
 * listening: a quarter of the timeout, at most a second, so a slow client is cut within about
 * 1.25x the setting. (The check runs in C++ over the connections that are mid-request only.)
 */
function checkingInterval(headerTimeoutMs: number): number {
  return headerTimeoutMs > 0 ? Math.max(50, Math.min(1_000, Math.floor(headerTimeoutMs / 4))) : 1_000;
}

/**
 * Client-side HTTP/1.1 timeouts, on a server that is new or already listening (Node reads these
 * per connection event, so a changed setting applies to the next check / the next idle spell).
 * requestTimeout stays 0: a whole-request deadline would cut honest long uploads and streamed
 * responses; the body timeout (body-timeout.ts) counts stalls instead. Node's own keep-alive
 * timer adds a one-second grace to keepAliveTimeout.
 */
function applyTimeouts(server: Server | Http2SecureServer, settings: ProxySettings): void {
  const s = server as Server;
  s.requestTimeout = 0;
  s.headersTimeout = settings.headerTimeoutMs;
  s.keepAliveTimeout = settings.keepaliveTimeoutMs;
}

/** A request Node's parser refused: 408 when the headers took too long, else 400; then close. */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && !(socket as Socket).bytesWritten) {
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  }
  socket.destroy();
}

function portOf(server: Server | Http2SecureServer): number {
  const addr = server.address();
  return addr && typeof addr === 'object' ? addr.port : 0;
}

/** How long a draining worker waits for a just-accepted connection's first request. */
const FIRST_REQUEST_GRACE_MS = 1_000;

/** Streams one HTTP/2 connection may have open at once: nginx's default. */
export const MAX_CONCURRENT_STREAMS = 128;

export class Listeners {
  private http: Bound<Server> | undefined;
  private https: Bound<Http2SecureServer> | undefined;
  private readonly sessions = new Set<Http2Session>();
  /** plain HTTP/1.1 and HTTP/1.1-over-TLS client sockets (h2 sessions are tracked apart) */
  private readonly h1Sockets = new Map<Socket, number>();
  /** HTTP/1 connections that have sent at least one request */
  private readonly served = new WeakSet<Socket>();
  /** shared by every worker (from the supervisor); until they arrive, the TLS server's own */
  private ticketKeys: Buffer | undefined;

  /** inherited sockets this worker has closed: their numbers may since name something else */
  private readonly spent = new Set<number>();

  /** `sockets`: listening sockets handed over by the supervisor (socket activation) */
  constructor(
    private readonly deps: HandlerDeps,
    private readonly sockets: readonly ListenSocket[] = [],
  ) {}

  get httpPort(): number | undefined {
    return this.http ? portOf(this.http.server) : undefined;
  }

  get httpsPort(): number | undefined {
    return this.https ? portOf(this.https.server) : undefined;
  }

  async apply(settings: ProxySettings): Promise<void> {
    const httpKey = this.keyFor(settings.bind, settings.httpPort, 'http');
    if (this.http?.key !== httpKey) {
      const server = this.createHttp(settings);
      const inherited = await this.replace(server, settings.httpPort, settings.bind, 'http', this.http);
      this.http = { server, key: httpKey, ...(inherited ? { inherited } : {}) };
    }
    const wantTls = settings.strategy !== 'http-only';
    const httpsKey = this.keyFor(settings.bind, settings.httpsPort, 'https');
    if (!wantTls) {
      this.retire(this.https);
      this.https = undefined;
    } else if (this.https?.key !== httpsKey) {
      const server = this.createHttps(settings);
      const inherited = await this.replace(server, settings.httpsPort, settings.bind, 'https', this.https);
      this.https = { server, key: httpsKey, ...(inherited ? { inherited } : {}) };
    }
    if (this.http) applyTimeouts(this.http.server, settings);
    if (this.https) applyTimeouts(this.https.server, settings);
  }

  /**
   * What a listener is open on: a changed key means a new server. An inherited socket's address
   * is the socket unit's, so [proxy] bind does not change it.
   */
  private keyFor(bind: string, port: number, name: 'http' | 'https'): string {
    const inherited = socketForPort(this.sockets, port, name);
    return inherited ? `fd|${inherited.fd}` : `${bind}|${port}`;
  }

  /**
   * Opens `server` before closing `old`, so a port change never leaves a gap. When the old one
   * holds the same port (only the bind address changed), it has to go first. A port that has an
   * inherited socket is served on it; the old server, if it held another socket, is closed after.
   */
  private async replace(server: Server | Http2SecureServer, port: number, bind: string, name: 'http' | 'https', old: Bound<Server | Http2SecureServer> | undefined): Promise<ListenSocket | undefined> {
    const inherited = socketForPort(this.sockets, port, name);
    if (inherited) {
      if (this.spent.has(inherited.fd)) {
        throw new DispenserError('PROXY_ACTIVATED_SOCKET_RELEASED', `the activated socket ${inherited.name} for port ${port} was released by an earlier reload and cannot be taken back by a running worker`, {
          hint: 'restart dispenser (systemctl restart dispenser): new workers get the socket again, without refusing connections',
        });
      }
      await listen(server, port, bind, inherited);
      this.retire(old);
      return inherited;
    }
    try {
      await listen(server, port, bind, undefined);
    } catch (err) {
      if (!old || port === 0 || portOf(old.server) !== port) throw err;
      this.retire(old);
      await listen(server, port, bind, undefined);
    }
    this.retire(old);
    return undefined;
  }

  /** Session tickets issued from now on use these keys, on the listener open now and any later one. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.https?.server.setTicketKeys(keys);
  }

  private trackH1(socket: Socket): void {
    this.h1Sockets.set(socket, performance.now());
    socket.once('close', () => this.h1Sockets.delete(socket));
  }

  private markServed = (req: { socket: Socket | null }): void => {
    if (req.socket) this.served.add(req.socket);
  };

  private createHttp(settings: ProxySettings): Server {
    const onRequest = createRequestHandler(this.deps, false);
    const server = createServer(
      { requestTimeout: 0, headersTimeout: settings.headerTimeoutMs, keepAliveTimeout: settings.keepaliveTimeoutMs, connectionsCheckingInterval: checkingInterval(settings.headerTimeoutMs), noDelay: true },
      onRequest,
    );
    server.on('upgrade', createUpgradeHandler(this.deps, false, onRequest));
    server.on('connection', (s: Socket) => this.trackH1(s));
    server.on('request', this.markServed);
    server.on('clientError', onClientError);
    return server;
  }

  private createHttps(settings: ProxySettings): Http2SecureServer {
    const onRequest = createRequestHandler(this.deps, true);
    const server = createSecureServer(
      {
        ...tlsProfile,
        allowHTTP1: true,
        // HTTP/1.1 over TLS with Nagle off, as plain HTTP here, node:https, nginx and Caddy have
        // it (node:http2 turns it off for its own sessions only)
        noDelay: true,
        // one connection cannot hold more upstream requests than this at once (nginx's
        // http2_max_concurrent_streams); Node's default announces no limit at all
        settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
        // a client that does not finish the TLS handshake gets no longer than one that stalls its headers
        ...(settings.headerTimeoutMs > 0 ? { handshakeTimeout: settings.headerTimeoutMs } : {}),
        SNICallback: (servername, cb) => {
          const ctx = selectContext(this.deps.state.certs, servername);
          if (ctx) cb(null, ctx);
          else cb(new Error(`no certificate for ${servername}`));
        },
      },
      onRequest,
    );
    // HTTP/1.1 over TLS goes through node:http's connection handling, with its own defaults (a
    // 300 s whole-request cut among them): same timeouts as plain HTTP
    setConnectionsCheckingInterval(server, checkingInterval(settings.headerTimeoutMs));
    applyTimeouts(server, settings);
    if (this.ticketKeys) server.setTicketKeys(this.ticketKeys);
    server.on('upgrade', createUpgradeHandler(this.deps, true, onRequest));
    server.on('clientError', onClientError);
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      closeWhenIdle(session, () => this.deps.state.settings.http2IdleTimeoutMs);
    });
    server.on('secureConnection', (s: Socket & { alpnProtocol?: string | false }) => {
      if (s.alpnProtocol !== 'h2') this.trackH1(s);
    });
    server.on('request', this.markServed);
    // a handshake for an unknown name, a scanner, a client giving up: nothing to do but drop it
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    return server;
  }

  private retire(bound: Bound<Server | Http2SecureServer> | undefined): void {
    if (!bound) return;
    if (bound.inherited) this.spent.add(bound.inherited.fd);
    bound.server.close();
  }

  /** Stop accepting; close idle connections now and busy ones as their request finishes. */
  stopAccepting(): void {
    this.http?.server.close();
    this.https?.server.close();
    for (const session of this.sessions) session.close();
    this.closeIdle();
  }

  /**
   * HTTP/1 sockets with no response in progress. A connection accepted a moment ago has not sent
   * its first request yet (the client may be writing it right now: closing it would reset a
   * request nobody has answered); it gets FIRST_REQUEST_GRACE_MS, and its request is answered
   * with `Connection: close` while draining.
   */
  closeIdle(): void {
    const now = performance.now();
    for (const [socket, acceptedAt] of this.h1Sockets) {
      if (hasResponseInProgress(socket)) continue;
      if (!this.served.has(socket) && now - acceptedAt < FIRST_REQUEST_GRACE_MS) continue;
      socket.destroy();
    }
  }

  /** A connection accepted less than FIRST_REQUEST_GRACE_MS ago that has not sent a request yet. */
  awaitingFirstRequest(): boolean {
    const now = performance.now();
    for (const [socket, acceptedAt] of this.h1Sockets) {
      if (!this.served.has(socket) && !socket.destroyed && now - acceptedAt < FIRST_REQUEST_GRACE_MS) return true;
    }
    return false;
  }

  destroyAll(): void {
    this.stopAccepting();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.h1Sockets.keys()) socket.destroy();
  }
}
