import { DispenserError, errorMessage, type ErrorCode } from '@dispenser/shared/errors';

const connectionCodes = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** true when the error means the daemon could not be reached (as opposed to refusing a request) */
export function isDaemonUnreachable(err: unknown): boolean {
  if (err instanceof DispenserError) return err.code === 'DOCKER_UNAVAILABLE';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && connectionCodes.has(code);
}

export function statusCode(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The daemon's own message (dockerode puts the JSON body in `json`), else the error's. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: unknown } | null)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message;
  }
  return errorMessage(err).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}

export function daemonUnavailable(err: unknown): DispenserError {
  return new DispenserError('DOCKER_UNAVAILABLE', `cannot reach the Docker daemon: ${errorMessage(err)}`, {
    cause: err,
    hint: 'is dockerd running and may this user use its socket (docker group)? Dispenser retries on its own.',
  });
}

/** Wraps an engine failure in a DispenserError with a stable code; unreachable daemon gets its own. */
export function wrapEngineError(code: ErrorCode, what: string, err: unknown, hint?: string): DispenserError {
  if (err instanceof DispenserError) return err;
  if (isDaemonUnreachable(err)) return daemonUnavailable(err);
  return new DispenserError(code, `${what}: ${engineMessage(err)}`, hint === undefined ? { cause: err } : { cause: err, hint });
}
