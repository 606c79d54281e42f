import { STATUS_CODES, validateHeaderName, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import h2proxyModule from 'http2-proxy';
import type { CompiledRoute } from './table.js';
import { applyForwardHeaders, clientAddress, isClientForwardingHeader } from './headers.js';
import type { ClientRequestLike, ForwardError, ForwardOptions } from './forward-types.js';
import { openUpstream, upstreamError } from './forward.js';
import { responseHeaderList, VALID_FIELD_VALUE } from './message-fields.js';

/** WebSocket upgrades (HTTP/1.1): http2-proxy relays them, each on its own upstream connection. */

/** The part of http2-proxy used here, typed honestly (its bundled types want async onReq overloads). */
interface ProxyOptions {
  hostname: string;
  port: number;
  onReq: (req: IncomingMessage, ureq: RequestOptions) => Promise<ClientRequest>;
  /** called instead of http2-proxy's own relay for a response that is not an upgrade */
  onRes?: (req: IncomingMessage, res: unknown, ures: IncomingMessage) => Promise<void>;
}
interface Http2Proxy {
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, options: ProxyOptions, callback: (err: ForwardError | null) => void): void;
}
const h2proxy = h2proxyModule as unknown as Http2Proxy;

/** The upgrade request http2-proxy prepared, with the trust rules' headers, on its own connection. */
function upgradeRequest(req: ClientRequestLike, ureq: RequestOptions, route: CompiledRoute, opts: ForwardOptions): ClientRequest {
  const headers = ureq.headers as Record<string, string | string[] | undefined>;
  // http2-proxy appended its own RFC 7239 entry; the trust rules decide what goes upstream
  const clientForwarded = req.headers['forwarded'];
  if (clientForwarded === undefined) delete headers['forwarded'];
  else headers['forwarded'] = clientForwarded;
  for (const key in headers) if (isClientForwardingHeader(key, opts.trusted)) delete headers[key];
  headers['host'] = opts.host;
  applyForwardHeaders(headers, {
    peer: clientAddress(req.socket.remoteAddress),
    proto: opts.tls ? 'https' : 'http',
    host: opts.host,
    trusted: opts.trusted,
  });
  return openUpstream(ureq.method, opts.url, headers, route, false, opts);
}

/**
 * An upstream that refused the upgrade (401, 403, a plain 200...): its answer reaches the client
 * with its head checked like any response's, instead of http2-proxy's raw copy of it. No length
 * of its own: the connection closes after it, which frames the body.
 */
function relayRefusal(socket: Duplex, ures: IncomingMessage, route: CompiledRoute): void {
  const status = ures.statusCode ?? 0;
  if (status < 200 || status > 599) throw upstreamError(`upstream ${route.upstreamKey} answered an upgrade with status ${status}`, 'EBADSTATUS', 502);
  const list = responseHeaderList(ures.rawHeaders, true);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < list.length; i += 2) {
    try {
      validateHeaderName(list[i]!);
    } catch {
      continue;
    }
    if (VALID_FIELD_VALUE.test(list[i + 1]!)) head += `${list[i]}: ${list[i + 1]}\r\n`;
  }
  socket.write(`${head}connection: close\r\n\r\n`);
  ures.pipe(socket);
}

/** How an upgrade ended: upgraded (101 relayed), or the status of the upstream's refusal. */
export interface UpgradeOutcome {
  upgraded: boolean;
  refusedWith?: number;
}

/** Forwards a WebSocket upgrade (HTTP/1.1) on its own upstream connection. */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  route: CompiledRoute,
  opts: ForwardOptions,
  done: (err: ForwardError | undefined, outcome: UpgradeOutcome) => void,
): void {
  const outcome: UpgradeOutcome = { upgraded: false };
  h2proxy.ws(
    req,
    socket,
    head,
    {
      hostname: route.upstream.host,
      port: route.upstream.port,
      // an upgraded connection would leave the keep-alive pool anyway: give it its own socket
      onReq: async (r: IncomingMessage, ureq: RequestOptions) => {
        const creq = upgradeRequest(r, ureq, route, opts);
        creq.once('upgrade', () => (outcome.upgraded = true));
        return creq;
      },
      onRes: async (_r: IncomingMessage, _s: unknown, ures: IncomingMessage) => {
        relayRefusal(socket, ures, route);
        outcome.refusedWith = ures.statusCode;
      },
    },
    (err: ForwardError | null) => done(err ?? undefined, outcome),
  );
}
