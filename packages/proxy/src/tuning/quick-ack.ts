import type { Socket } from 'node:net';
import { loadAddon } from '../native-addon.js';

/**
 * The quick-ack addon (native/quick-ack.c): acknowledge what was read from an upstream socket at
 * once instead of after Linux's delayed-ACK timer (up to 40 ms on a keep-alive connection), which
 * a backend with Nagle's algorithm on waits for before sending the tail of a response.
 * Optional: `undefined` where it was not built (no C compiler) or cannot load, with the reason in
 * `quickAckUnavailable`; the proxy then works as before.
 */
interface Addon {
  quickAck(fd: number): boolean;
}

const { addon, reason } = loadAddon<Addon>('quick-ack', (a) => typeof a.quickAck === 'function');

/** Why upstream ACKs are not sped up in this process, or `undefined` when they are. */
export const quickAckUnavailable: string | undefined = reason;

/** libuv's stream handle, whose `fd` getter is the socket's descriptor (POSIX only). */
interface HandleWithFd {
  fd?: number;
}

/** Sends the ACK for the data already read from `socket` now. False when it could not. */
export const quickAck: ((socket: Socket) => boolean) | undefined = addon
  ? (socket) => {
      const fd = (socket as unknown as { _handle?: HandleWithFd | null })._handle?.fd;
      return fd !== undefined && fd >= 0 && addon.quickAck(fd);
    }
  : undefined;
