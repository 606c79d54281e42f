import type { IncomingMessage } from 'node:http';
import type { Logger } from '@dispenser/shared/log';
import type { TuningHooks } from './hooks.js';
import { quickAck, quickAckUnavailable } from './quick-ack.js';
import { ScavengePacer } from './scavenge-pacer.js';
import { MallocTrimmer, mallocTrimUnavailable } from './malloc-trimmer.js';
import { tuningOff, type TuningPiece } from './switches.js';

/**
 * Everything a proxy worker does for speed and memory beyond forwarding: the two data-path hooks
 * (upstream ACKs, scavenge pacing) and the process-wide piece (the malloc trimmer). The Node flags are in exec-argv.ts, applied by whoever starts the worker.
 * Each piece, and what it was measured to pay, is in docs/internals/proxy-performance.md.
 */

export { NO_TUNING, type TuningHooks } from './hooks.js';

/**
 * Runs after the read that delivered a response's head (a nextTick: the parser has consumed the
 * whole read by then). A response that did not end in that read spans several TCP segments, and
 * a backend with Nagle's algorithm on holds back its last short one until we acknowledge the
 * rest, which Linux delays by up to 40 ms on a keep-alive connection: acknowledge now. A response
 * that ended in one read costs nothing extra (no syscall, no bare ACK packet).
 */
function ackIfIncomplete(response: IncomingMessage): void {
  if (!response.complete && !response.destroyed) quickAck?.(response.socket);
}

/** The data-path hooks of one worker, counting requests in flight from `traffic`. */
export function dataPathTuning(traffic: { readonly inFlight: number }, off: ReadonlySet<TuningPiece> = tuningOff()): TuningHooks {
  const ack = quickAck && !off.has('quick-ack');
  const pacer = off.has('scavenge-pacer') ? undefined : new ScavengePacer(traffic);
  return {
    upstreamResponse: ack ? (response) => process.nextTick(ackIfIncomplete, response) : () => undefined,
    bodyBytes: pacer ? (bytes) => pacer.add(bytes) : () => undefined,
  };
}

/**
 * The process-wide piece, once at worker start. Logs (info) what this process has to do
 * without, so an operator knows why a worker is slower or bigger.
 */
export function startProcessTuning(traffic: { readonly started: number }, log: Logger, off: ReadonlySet<TuningPiece> = tuningOff()): void {
  if (off.size) log.info({ off: [...off] }, 'benchmark switch: tuning pieces turned off');
  if (quickAckUnavailable) {
    log.info({ reason: quickAckUnavailable }, 'upstream ACKs are not sped up (quick-ack addon unavailable): a backend with Nagle on may add up to 40 ms to multi-segment responses');
  }
  if (mallocTrimUnavailable) {
    log.info({ reason: mallocTrimUnavailable }, 'freed memory is not handed back to the system between garbage collections (malloc-trim addon unavailable): workers stay larger under load');
  }
  if (!off.has('malloc-trim')) new MallocTrimmer(traffic).start();
}
