import { connect, type ConnectionOptions } from 'node:tls';

/**
 * TLS session resumption as a client sees it, for tests of the proxy's session tickets: on
 * loopback, with SNI `servername`, verifying against `ca` when given (otherwise not verifying,
 * e.g. a self-signed dev certificate).
 */
export interface TlsClientOptions {
  ca?: string;
  timeoutMs?: number;
}

function connectOptions(port: number, servername: string, ca: string | undefined, session?: Buffer): ConnectionOptions {
  return { host: '127.0.0.1', port, servername, ALPNProtocols: ['http/1.1'], session, ...(ca ? { ca } : { rejectUnauthorized: false }) };
}

/** A full handshake; resolves with the session the client keeps (TLS 1.3: from the server's ticket). */
export function tlsSession(port: number, servername: string, { ca, timeoutMs = 5000 }: TlsClientOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(connectOptions(port, servername, ca));
    socket.once('session', (session: Buffer) => {
      socket.destroy();
      resolve(session);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('no TLS session ticket')));
    socket.on('error', reject);
  });
}

/** Whether a new connection offering `session` was resumed instead of doing a full handshake. */
export function tlsResumes(port: number, servername: string, session: Buffer, { ca, timeoutMs = 5000 }: TlsClientOptions = {}): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(connectOptions(port, servername, ca, session), () => {
      resolve(socket.isSessionReused());
      socket.destroy();
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('TLS handshake timeout')));
    socket.on('error', reject);
  });
}
