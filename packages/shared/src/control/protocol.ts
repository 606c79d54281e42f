import { z } from 'zod';
import type { ErrorCode } from '../errors/catalogue.js';
import { ledgerEntrySchema } from '../ledger/entry.js';
import { statusSchema } from './status.js';

/**
 * The control protocol spoken on `.dispenser/control.sock` between the `dispenser` commands and
 * the running daemon (docs/reference/control-protocol.md). Newline-delimited JSON: each line one
 * frame, every frame carrying the protocol version `v` and the `id` of the request it belongs to.
 * A request gets either one `result`, or a stream of `event`s closed by `end`; any request may
 * instead get one `error` carrying a code of the error catalogue. A client cancels a stream by
 * closing the connection.
 */
export const CONTROL_PROTOCOL_VERSION = 1;

/** a request line longer than this is refused; the longest real one is well under 1 KiB */
export const MAX_REQUEST_LINE_BYTES = 64 * 1024;

const id = z.union([z.string().max(100), z.number().int()]);

const statusParams = z.strictObject({
  /** a stream: a `Status` event now and one whenever it changes, until the client closes */
  watch: z.boolean().optional(),
});
const logsParams = z.strictObject({
  service: z.string().min(1),
  /** keep streaming new output until the client closes (or the daemon stops) */
  follow: z.boolean().optional(),
  /** the last N lines only; absent: all */
  tail: z.number().int().nonnegative().optional(),
  /** only output written at or after this time (Unix seconds) */
  since: z.number().int().nonnegative().optional(),
});
export type LogsParams = z.infer<typeof logsParams>;
const historyParams = z.strictObject({
  /** only this service's entries */
  service: z.string().min(1).optional(),
  /** at most this many, newest first; absent: HISTORY_DEFAULT_LIMIT */
  limit: z.number().int().positive().optional(),
});
export type HistoryParams = z.infer<typeof historyParams>;

export const controlRequestSchema = z.discriminatedUnion('method', [
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id, method: z.literal('status'), params: statusParams.default({}) }),
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id, method: z.literal('logs'), params: logsParams }),
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id, method: z.literal('history'), params: historyParams.default({}) }),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;
export type ControlRequestInput = z.input<typeof controlRequestSchema>;
export type ControlMethod = ControlRequest['method'];

export const logChunkSchema = z.strictObject({ stream: z.enum(['stdout', 'stderr']), text: z.string() });
export type LogChunk = z.infer<typeof logChunkSchema>;

export const historySchema = z.strictObject({
  /** newest first */
  entries: z.array(ledgerEntrySchema),
  /** lines of the ledger that could not be read (a write cut short by a crash) */
  skipped: z.number().int().nonnegative(),
});
export type History = z.infer<typeof historySchema>;

export const controlErrorSchema = z.strictObject({ code: z.string(), message: z.string(), hint: z.string().optional() });
export interface ControlError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

const frameBase = { v: z.literal(CONTROL_PROTOCOL_VERSION), id: id.nullable() };
export const controlFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...frameBase, type: z.literal('result'), result: z.unknown() }),
  z.strictObject({ ...frameBase, type: z.literal('event'), event: z.unknown() }),
  z.strictObject({ ...frameBase, type: z.literal('end') }),
  z.strictObject({ ...frameBase, type: z.literal('error'), error: controlErrorSchema }),
]);
export type ControlFrame = z.infer<typeof controlFrameSchema>;

/** The payload schema of each method's `result` / `event`s, so a client checks what it reads. */
export const payloadSchemas = {
  status: statusSchema,
  logs: logChunkSchema,
  history: historySchema,
} as const;
export type PayloadOf<M extends ControlMethod> = z.infer<(typeof payloadSchemas)[M]>;

export type RequestId = z.infer<typeof id>;

export function encodeFrame(frame: ControlFrame): string {
  return JSON.stringify(frame) + '\n';
}

export function encodeRequest(request: ControlRequestInput): string {
  return JSON.stringify(request) + '\n';
}

export const frames = {
  result: (requestId: RequestId | null, result: unknown): ControlFrame => ({ v: CONTROL_PROTOCOL_VERSION, id: requestId, type: 'result', result }),
  event: (requestId: RequestId | null, event: unknown): ControlFrame => ({ v: CONTROL_PROTOCOL_VERSION, id: requestId, type: 'event', event }),
  end: (requestId: RequestId | null): ControlFrame => ({ v: CONTROL_PROTOCOL_VERSION, id: requestId, type: 'end' }),
  error: (requestId: RequestId | null, error: ControlError): ControlFrame => ({
    v: CONTROL_PROTOCOL_VERSION,
    id: requestId,
    type: 'error',
    error: error.hint === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, hint: error.hint },
  }),
};

export type ParsedRequest = { ok: true; request: ControlRequest } | { ok: false; id: RequestId | null; error: ControlError };

/**
 * One request line, checked: JSON, this protocol version, a known method with valid params.
 * A refusal names the request's id when one could be read, so the client can match it.
 */
export function parseRequest(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: { code: 'CONTROL_BAD_REQUEST', message: 'a request line is not JSON' } };
  }
  // `[]`, `null` or `42` is no request of any version: not a version mismatch
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, id: null, error: { code: 'CONTROL_BAD_REQUEST', message: 'a request line is not a JSON object' } };
  }
  const requestId = readId(raw);
  const v = (raw as { v?: unknown }).v;
  if (v !== CONTROL_PROTOCOL_VERSION) {
    return {
      ok: false,
      id: requestId,
      error: {
        code: 'CONTROL_PROTOCOL_MISMATCH',
        message: `the daemon speaks control protocol version ${CONTROL_PROTOCOL_VERSION}, the request has ${JSON.stringify(v ?? null)}`,
        hint: 'use the dispenser command of the same installation as the running daemon',
      },
    };
  }
  const parsed = controlRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { ok: false, id: requestId, error: { code: 'CONTROL_BAD_REQUEST', message: `invalid request: ${where}${issue?.message ?? 'unknown problem'}` } };
  }
  return { ok: true, request: parsed.data };
}

function readId(raw: object): RequestId | null {
  const checked = id.safeParse((raw as { id?: unknown }).id);
  return checked.success ? checked.data : null;
}

/** One frame line from the daemon, or undefined when it is not a frame of this protocol version. */
export function parseFrame(line: string): ControlFrame | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = controlFrameSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Splits a byte stream into lines. Pure bookkeeping: `push` returns the complete lines, keeps the
 * rest; a line longer than `maxBytes` throws away what it buffered and reports `overflow` once.
 */
export class LineSplitter {
  private buffered = '';
  constructor(private readonly maxBytes = Infinity) {}

  push(chunk: string): { lines: string[]; overflow: boolean } {
    const parts = (this.buffered + chunk).split('\n');
    this.buffered = parts.pop() ?? '';
    const overflow = Buffer.byteLength(this.buffered) > this.maxBytes || parts.some((p) => Buffer.byteLength(p) > this.maxBytes);
    if (overflow) {
      this.buffered = '';
      return { lines: [], overflow: true };
    }
    return { lines: parts.filter((p) => p.trim() !== ''), overflow: false };
  }
}
