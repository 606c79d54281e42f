import type { Message, Snapshot } from './messages.js';

/**
 * The zod-free half of the IPC protocol: the envelope, the message kinds, and what a proxy worker
 * needs to read its parent's messages. Kept apart from the schemas (messages.ts) so that a proxy
 * worker does not load zod: ~3 MB of heap and 13–18 MB of RSS per worker, for validation the
 * supervisor has already done (see openEnvelope).
 */
export const PROTOCOL_VERSION = 1;

export const TICKET_KEYS_BYTES = 48;

export const snapshotKinds = ['routes', 'certs', 'challenges', 'proxy-settings', 'tls-ticket-keys'] as const;
export type SnapshotKind = (typeof snapshotKinds)[number];

/** Every message type of the protocol (a test checks that the schemas in messages.ts cover exactly these). */
export const messageTypes = [...snapshotKinds, 'ack', 'applied', 'ready', 'reload', 'reloaded', 'drain', 'fatal'] as const;
const knownTypes: ReadonlySet<string> = new Set(messageTypes);

export interface Envelope {
  dispenser: typeof PROTOCOL_VERSION;
  msg: Message;
}

export function envelope(msg: Message): Envelope {
  return { dispenser: PROTOCOL_VERSION, msg };
}

/**
 * The message in an envelope of this protocol version with a known type, without checking its
 * fields: for a proxy worker reading its parent. The supervisor validates every message it
 * receives (parseMessage) and sends workers only those, or messages it made itself, so a second
 * full validation in each worker would only cost memory. Anything else (another program on the
 * channel, another protocol version) is still refused.
 */
export function openEnvelope(raw: unknown): Message | undefined {
  if (!raw || typeof raw !== 'object' || (raw as Envelope).dispenser !== PROTOCOL_VERSION) return undefined;
  const msg = (raw as Envelope).msg as unknown;
  if (!msg || typeof msg !== 'object' || !knownTypes.has((msg as { type?: unknown }).type as string)) return undefined;
  return msg as Message;
}

export function isSnapshot(msg: Message): msg is Snapshot {
  return (snapshotKinds as readonly string[]).includes(msg.type);
}
