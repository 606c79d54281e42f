import type { Socket } from 'node:net';
import type { Http2SecureServer } from 'node:http2';

/**
 * The two places the listeners rely on Node internals that have no public API, in one module so
 * a Node upgrade is checked here first. Process tuning has its own (tuning/quick-ack.ts reads a
 * socket's descriptor).
 */

/**
 * HTTP/1.1 over TLS goes through node:http's connection handling on an Http2SecureServer with
 * allowHTTP1, which ignores the option of that name: the interval at which Node checks header
 * timeouts is only read from the server's own property when it starts listening.
 */
export function setConnectionsCheckingInterval(server: Http2SecureServer, ms: number): void {
  (server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = ms;
}

/** An HTTP/1 socket with a response in progress (node:http links the two while it lasts). */
export function hasResponseInProgress(socket: Socket): boolean {
  return Boolean((socket as Socket & { _httpMessage?: unknown })._httpMessage);
}
