/**
 * Listening sockets the service manager opened for the daemon (socket activation), as the
 * supervisor hands them to its proxy workers: in each worker's environment, with the descriptor
 * number the socket has in that worker. Kept free of zod: a worker reads it before anything else.
 */
export interface ListenSocket {
  /** descriptor number in the process that reads this */
  fd: number;
  /** FileDescriptorName= of the socket unit (`http`, `https`), or systemd's default name */
  name: string;
  /** bound port, when the supervisor could read it (Linux /proc); matched against the config */
  port?: number;
  /** bound address, for messages */
  address?: string;
}

/** Environment variable of a proxy worker that lists its inherited listening sockets (JSON). */
export const LISTEN_SOCKETS_ENV = 'DISPENSER_LISTEN_SOCKETS';

export function encodeListenSockets(sockets: readonly ListenSocket[]): string {
  return JSON.stringify(sockets);
}

/** Anything malformed yields no socket at all: the worker then binds its ports itself. */
export function decodeListenSockets(value: string | undefined): ListenSocket[] {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: ListenSocket[] = [];
  for (const item of parsed as unknown[]) {
    if (!item || typeof item !== 'object') return [];
    const { fd, name, port, address } = item as Record<string, unknown>;
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 3 || typeof name !== 'string') return [];
    out.push({
      fd,
      name,
      ...(typeof port === 'number' && Number.isInteger(port) ? { port } : {}),
      ...(typeof address === 'string' ? { address } : {}),
    });
  }
  return out;
}

/** The socket to serve `port` on, if one was handed over: matched by bound port, else by name. */
export function socketForPort(sockets: readonly ListenSocket[], port: number, name: 'http' | 'https'): ListenSocket | undefined {
  if (port === 0) return undefined;
  const byPort = sockets.find((s) => s.port === port);
  if (byPort) return byPort;
  // without /proc the port is unknown; the unit's name is then all there is to go by
  return sockets.find((s) => s.port === undefined && s.name === name);
}
