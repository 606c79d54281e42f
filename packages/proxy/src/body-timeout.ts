import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { ClientRequestLike, ClientResponseLike } from './forward-types.js';
import { bodyFraming } from './message-fields.js';

/**
 * The request body timeout: time without progress, as nginx's client_body_timeout. The clock
 * restarts at every chunk read, so an upload of any size that keeps moving completes however
 * long it takes. While the proxy itself is not reading (the request is paused because the
 * upstream applies backpressure) the clock stands still: the wait is not the client's.
 *
 * A stalled client gets 408 with the connection (HTTP/1.1) or stream (HTTP/2) closed; when the
 * response has already started, only the close is left.
 */

export const BODY_TIMEOUT = 'DISPENSER_BODY_TIMEOUT';

export interface BodyWatch {
  /** true once the body timed out */
  readonly stalled: boolean;
  stop(): void;
}

export function watchBody(req: ClientRequestLike, res: ClientResponseLike, timeoutMs: number): BodyWatch | undefined {
  // a request without a body (most GETs) costs no timer
  if (timeoutMs <= 0 || req.readableEnded || bodyFraming(req) === 'none') return undefined;
  let paused = false;
  let stalled = false;
  const onTimeout = (): void => {
    // paused by the proxy (upstream backpressure): not the client's time; look again later
    if (paused) {
      timer.refresh();
      return;
    }
    stalled = true;
    stop();
    endStalled(req, res);
  };
  const timer = setTimeout(onTimeout, timeoutMs);
  const onData = (): void => {
    timer.refresh();
  };
  const onPause = (): void => {
    paused = true;
  };
  const onResume = (): void => {
    paused = false;
    timer.refresh();
  };
  const stop = (): void => {
    clearTimeout(timer);
    socket?.off('data', onData);
    req.off('data', onData);
    req.off('pause', onPause);
    req.off('resume', onResume);
    req.off('end', stop);
  };
  // HTTP/1.1: any byte counts as progress, chunk sizes and trailers too (as nginx counts reads)
  const socket = req.httpVersionMajor === 1 ? req.socket : undefined;
  socket?.on('data', onData);
  req.on('data', onData);
  req.on('pause', onPause);
  req.on('resume', onResume);
  req.once('end', stop);
  return {
    get stalled() {
      return stalled;
    },
    stop,
  };
}

const STALLED_BODY = 'Request timeout: the request body stopped arriving\n';

function endStalled(req: ClientRequestLike, res: ClientResponseLike): void {
  if (res.headersSent || res.writableEnded || res.destroyed) {
    res.destroy();
    return;
  }
  try {
    if (req.httpVersionMajor === 1) {
      // the rest of the body will not come: the connection cannot carry another request
      (res as ServerResponse).shouldKeepAlive = false;
      res.setHeader('connection', 'close');
    } else {
      // RST_STREAM(NO_ERROR) once the answer is out tells the client to stop sending (RFC 9113 §8.1)
      // (the compat response's own 'finish' waits for the stream to close: watch the stream's)
      const stream = (res as Http2ServerResponse).stream;
      stream.once('finish', () => {
        if (!stream.closed) stream.close();
      });
    }
    res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(STALLED_BODY) });
    res.end(STALLED_BODY);
  } catch {
    res.destroy();
  }
}
