import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TuningHooks } from './tuning/hooks.js';

/** The shapes one forwarded exchange is described with, shared by the request and upgrade paths. */

export type ClientRequestLike = IncomingMessage | Http2ServerRequest;
export type ClientResponseLike = ServerResponse | Http2ServerResponse;

export interface ForwardOptions {
  tls: boolean;
  /** the validated authority the client asked for (Host, :authority or absolute-form): the upstream's Host */
  host: string;
  /** the normalised origin-form target the route matched: what the upstream is asked for */
  url: string;
  trusted: boolean;
  connectTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** a client that takes nothing of a response ready for it this long is dropped; 0 = never */
  sendTimeoutMs: number;
  /** where process tuning looks at the exchange (tuning/); NO_TUNING forwards the same bytes */
  tuning: TuningHooks;
}

/** What went wrong talking to the upstream, as the status the client gets. */
export interface ForwardError extends Error {
  code?: string;
  statusCode?: number;
  reusedSocket?: boolean;
}
