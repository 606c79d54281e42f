/**
 * The zod-free half of the IPC protocol: the envelope, the message kinds, and what a proxy worker
 * needs to read its parent's messages. Kept apart from the schemas (messages.ts) so that a proxy
 * worker does not load zod: ~3 MB of heap and 13–18 MB of RSS per worker, for validation the
 * supervisor has already done (see openEnvelope). It knows message types only by name, so it
 * does not import messages.ts either: the caller names the message type it expects.
 */
export const PROTOCOL_VERSION = 1;

export const TICKET_KEYS_BYTES = 48;

export const snapshotKinds = ['routes', 'certs', 'challenges', 'proxy-settings', 'tls-ticket-keys'] as const;
export type SnapshotKind = (typeof snapshotKinds)[number];

/** Every message type of the protocol (a test checks that the schemas in messages.ts cover exactly these). */
export const messageTypes = [
  ...snapshotKinds,
  'ack',
  'applied',
  'ready',
  'reload',
  'reloaded',
  'drain',
  'fatal',
  'status-request',
  'status-reply',
  'logs-request',
  'logs-chunk',
  'logs-end',
  'logs-cancel',
  // metrics ([metrics] in dispenser.toml)
  'metrics-settings',
  'metrics-request',
  'metrics-report',
] as const;
const knownTypes: ReadonlySet<string> = new Set(messageTypes);

export interface Envelope<M = unknown> {
  dispenser: typeof PROTOCOL_VERSION;
  msg: M;
}

export function envelope<M>(msg: M): Envelope<M> {
  return { dispenser: PROTOCOL_VERSION, msg };
}

/**
 * The message in an envelope of this protocol version with a known type, without checking its
 * fields: for a proxy worker reading its parent. The supervisor validates every message it
 * receives (parseMessage) and sends workers only those, or messages it made itself, so a second
 * full validation in each worker would only cost memory. Anything else (another program on the
 * channel, another protocol version) is still refused.
 */
export function openEnvelope<M extends { type: string } = { type: string }>(raw: unknown): M | undefined {
  if (!raw || typeof raw !== 'object' || (raw as Envelope).dispenser !== PROTOCOL_VERSION) return undefined;
  const msg = (raw as Envelope).msg;
  if (!msg || typeof msg !== 'object' || !knownTypes.has((msg as { type?: unknown }).type as string)) return undefined;
  return msg as M;
}

export function isSnapshot<M extends { type: string }>(msg: M): msg is Extract<M, { type: SnapshotKind }> {
  return (snapshotKinds as readonly string[]).includes(msg.type);
}
