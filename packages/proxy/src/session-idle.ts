import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

/**
 * Closes an HTTP/2 session that has had no open stream for `idleMs()` (read when the idle spell
 * starts, so a settings change applies to the next one). close() sends GOAWAY and ends the
 * connection; a stream that is open, however quiet, keeps the session: a long poll or a slow
 * download is the stream's business, not the session's. One timer per session, only while idle.
 */
/** How long a GOAWAY'd idle session may take to finish what the client had begun. */
const CLOSE_GRACE_MS = 2_000;

export function closeWhenIdle(session: ServerHttp2Session, idleMs: () => number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const onIdle = (): void => {
    timer = undefined;
    if (open === 0 && !session.closed && !session.destroyed) {
      session.close();
      // close() waits for streams the client has begun (a HEADERS frame without its end, left
      // hanging): after a short grace the connection goes anyway
      setTimeout(() => session.destroyed || session.destroy(), CLOSE_GRACE_MS).unref();
    }
  };
  const arm = (): void => {
    const ms = idleMs();
    if (ms > 0) timer = setTimeout(onIdle, ms).unref();
  };
  const onStreamClose = (): void => {
    if (--open === 0 && !session.closed) arm();
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    stream.once('close', onStreamClose);
  });
  session.once('close', () => clearTimeout(timer));
  arm();
}
