import { connect, type Socket } from 'node:net';
import { CONTROL_PROTOCOL_VERSION, encodeRequest, LineSplitter, parseFrame, payloadSchemas, type ControlMethod, type ControlRequestInput, type PayloadOf } from '@dispenser/shared/control/protocol';
import { DispenserError, errorCode, type ErrorCode } from '@dispenser/shared/errors';
import { errorCatalogue } from '@dispenser/shared/errors/catalogue';
import { reportError, toStderr } from '../report-error.js';

/** The exit code of a command that found no daemon to ask. */
export const EXIT_NO_DAEMON = 2;

/** Prints a control command's error; returns its exit code: 2 when no daemon runs, else 1. */
export function reportControlError(err: unknown): number {
  const code = reportError(err, toStderr);
  return err instanceof DispenserError && err.code === 'DAEMON_NOT_RUNNING' ? EXIT_NO_DAEMON : code;
}

type Params<M extends ControlMethod> = Extract<ControlRequestInput, { method: M }>['params'];

/**
 * One request on the daemon's control socket (docs/reference/control-protocol.md). `onEvent` gets
 * each event of a stream (or the one result); resolves when the daemon ends the answer, or when
 * `cancel()` is called (which closes the connection: the daemon stops the stream). Rejects with
 * the daemon's error, or DAEMON_NOT_RUNNING / CONTROL_PERMISSION_DENIED / CONTROL_PROTOCOL_MISMATCH
 * / CONTROL_CONNECTION_LOST.
 */
export function controlRequest<M extends ControlMethod>(
  socketPath: string,
  method: M,
  params: Params<M>,
  onEvent: (payload: PayloadOf<M>) => void,
): { done: Promise<void>; cancel(): void } {
  let socket: Socket | undefined;
  let cancelled = false;
  const done = new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      socket?.destroy();
      if (err) reject(err);
      else resolve();
    };
    const s = (socket = connect(socketPath));
    s.on('error', (err) => finish(cancelled ? undefined : connectError(err, socketPath)));
    s.on('close', () => finish(cancelled ? undefined : new DispenserError('CONTROL_CONNECTION_LOST', 'the daemon closed the connection before answering (it is stopping or restarting)', { hint: 'run the command again once the daemon is back' })));
    s.on('connect', () => s.write(encodeRequest({ v: CONTROL_PROTOCOL_VERSION, id: 1, method, params } as ControlRequestInput)));
    const lines = new LineSplitter();
    const schema = payloadSchemas[method];
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      for (const line of lines.push(chunk).lines) {
        if (finished) return;
        const frame = parseFrame(line);
        if (!frame) return finish(mismatch(line));
        switch (frame.type) {
          case 'result':
          case 'event': {
            const payload = schema.safeParse(frame.type === 'result' ? frame.result : frame.event);
            if (!payload.success) return finish(mismatch(line));
            onEvent(payload.data as PayloadOf<M>);
            if (frame.type === 'result') finish();
            break;
          }
          case 'end':
            return finish();
          case 'error':
            return finish(new DispenserError(knownCode(frame.error.code), frame.error.message, frame.error.hint ? { hint: frame.error.hint } : undefined));
        }
      }
    });
  });
  return {
    done,
    cancel() {
      cancelled = true;
      socket?.destroy();
    },
  };
}

function connectError(err: Error, socketPath: string): DispenserError {
  const code = errorCode(err);
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTDIR') {
    return new DispenserError('DAEMON_NOT_RUNNING', `no dispenser is running for this configuration: nothing listens on ${socketPath}`, {
      hint: 'start it (systemctl start dispenser, or dispenser -c FILE), or give -c the configuration the daemon runs with',
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new DispenserError('CONTROL_PERMISSION_DENIED', `may not connect to ${socketPath}`, { hint: 'run as root or as a member of the dispenser group' });
  }
  return new DispenserError('CONTROL_CONNECTION_LOST', `cannot talk to the daemon on ${socketPath}: ${err.message}`);
}

function mismatch(line: string): DispenserError {
  let theirs: unknown;
  try {
    theirs = (JSON.parse(line) as { v?: unknown }).v;
  } catch {
    theirs = undefined;
  }
  return new DispenserError('CONTROL_PROTOCOL_MISMATCH', `the daemon answered in a form this command does not read (control protocol ${JSON.stringify(theirs ?? null)}, this command speaks ${CONTROL_PROTOCOL_VERSION})`, {
    hint: 'restart the daemon after an upgrade (systemctl restart dispenser), or use the dispenser command of its installation',
  });
}

/** a code the daemon sent; one this command does not know is shown under a generic one */
function knownCode(code: string): ErrorCode {
  return code in errorCatalogue ? (code as ErrorCode) : 'CONTROL_PROTOCOL_MISMATCH';
}
