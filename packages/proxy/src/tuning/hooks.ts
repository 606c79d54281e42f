import type { IncomingMessage } from 'node:http';

/**
 * The two points where the forwarding code lets process tuning look at the traffic. Nothing a
 * hook does changes what a client or an upstream sees: with NO_TUNING the proxy forwards the same
 * bytes (more slowly, or holding more memory; see docs/internals/proxy-performance.md).
 */
export interface TuningHooks {
  /** an upstream response's head was parsed (its body may still be on the way) */
  upstreamResponse(response: IncomingMessage): void;
  /** a body chunk of `bytes` was forwarded, in either direction (WebSocket traffic is not counted) */
  bodyBytes(bytes: number): void;
}

export const NO_TUNING: TuningHooks = Object.freeze({
  upstreamResponse: () => undefined,
  bodyBytes: () => undefined,
});
