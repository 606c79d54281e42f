import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import type { Canned, RecordingBackend, Responder } from './backend.js';
import { h2Exchange, rawExchange, type RawOptions, type RawResult, type Step } from './client.js';
import type { Target } from './targets.js';
import { decodeAll, header, pathOf, removeDotSegments, type SeenRequest } from './wire.js';

/**
 * The conformance cases: each sends exact bytes (or HTTP/2 frames through node:http2) through a
 * proxy to the recording backend and checks the SAFE outcome, which is written in `expect`. Where
 * the RFCs allow several behaviours, any safe one passes; where unsure, the expectation is what
 * the safer of nginx and Caddy does. Every case is followed by a probe (runner.ts): a fresh
 * connection's GET must still get its own 200 from the root backend.
 *
 * Topology (targets.ts): host `app`, `/public` → backend 'public', `/` → backend 'root'.
 */

export interface CaseEnv {
  target: Target;
  backend: RecordingBackend;
  /** CA for the targets' certificate (for `app`) */
  ca: string;
  /** an HTTP/2 session to the target's TLS port, closed after the case */
  h2(): ClientHttp2Session;
}

export interface Verdict {
  ok: boolean;
  /** what the proxy did, short (a table cell) */
  got: string;
  /** why it is not safe */
  why?: string;
}

export interface Case {
  /** stable id, `group.name`: the table and the test names use it */
  id: string;
  group: string;
  /** the safe outcome, short */
  expect: string;
  respond?: Responder;
  /** needs a client header timeout set per run (skipped on a target without one) */
  needs?: 'header-timeout';
  /** whole-case bound (default 8 s) */
  timeoutMs?: number;
  /** the probe after the case must reach the backend on a new upstream connection */
  freshUpstreamAfter?: boolean;
  run(env: CaseEnv): Promise<Verdict>;
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n';

// ---------- observation helpers

function statuses(r: RawResult): string {
  const s = r.finals.map((f) => `${f.status}${f.complete ? '' : ' cut'}`).join(',');
  if (!s) return r.timedOut ? 'no answer (timeout)' : r.closed ? 'closed' : 'nothing';
  return r.closed ? `${s} +close` : s;
}

function seenText(seen: readonly SeenRequest[]): string {
  if (!seen.length) return 'be: -';
  const one = (q: SeenRequest) => `${q.backend} ${q.method} ${q.url.length > 40 ? `${q.url.slice(0, 40)}…` : q.url}${q.body.length ? ` [${q.framing} ${q.body.length}B]` : ''}${q.complete ? '' : ' (incomplete)'}`;
  return `be: ${seen.slice(0, 2).map(one).join('; ')}${seen.length > 2 ? `; +${seen.length - 2}` : ''}`;
}

function verdict(got: string, why: string | undefined): Verdict {
  return why ? { ok: false, got, why } : { ok: true, got };
}

/** The backend saw nothing smuggled, no ambiguous framing, no stray bytes. */
function backendClean(env: CaseEnv, seen: readonly SeenRequest[]): string | undefined {
  if (seen.some((q) => q.url.includes('smuggled'))) return 'the backend received the smuggled request';
  const bad = seen.find((q) => q.problems.length);
  if (bad) return `the backend received ${bad.problems.join(', ')}`;
  const stray = env.backend.touched().find((c) => c.problems.length);
  if (stray) return `the backend connection got ${stray.problems.join(', ')}`;
  return undefined;
}

const REJECT_STATUSES = new Set([400, 408, 411, 413, 414, 417, 431, 501, 505]);

function rejected(r: RawResult): boolean {
  const first = r.finals[0];
  return first ? REJECT_STATUSES.has(first.status) : r.closed;
}

async function h1(env: CaseEnv, steps: readonly Step[], opts: Partial<RawOptions> = {}): Promise<{ r: RawResult; seen: SeenRequest[] }> {
  const r = await rawExchange(steps, { port: env.target.httpPort, timeoutMs: 5_000, ...opts });
  // whatever the proxy forwards, it forwards before answering; a moment for what follows a close
  await new Promise((res) => setTimeout(res, 50));
  return { r, seen: env.backend.caseRequests() };
}

// ---------- 1. framing

function bodyOnMethod(method: string): Case {
  return {
    id: `framing.${method.toLowerCase()}-cl-body`,
    group: 'framing',
    expect: 'body forwarded with its Content-Length, or 400; never a 2nd request',
    async run(env) {
      const { r, seen } = await h1(env, [`${method} /c/body HTTP/1.1\r\nHost: app\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`], { lingerMs: 200, headFor: () => method === 'HEAD' });
      const got = `${statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if (rejected(r) && seen.length === 0) return verdict(got, undefined);
      const q = seen[0];
      if (!q) return verdict(got, 'neither forwarded nor rejected');
      if (q.framing === 'none') return verdict(got, 'the body was dropped: forwarded without framing or body');
      if (!q.complete) return verdict(got, 'Content-Length forwarded without the body: the backend waits for bytes that never come');
      if (q.body.toString('latin1') !== SMUGGLED) return verdict(got, 'the backend got a different body');
      if (r.finals.length !== 1 || r.finals[0]!.status !== 200) return verdict(got, 'expected one 200');
      return verdict(got, undefined);
    },
  };
}

/**
 * An ambiguous request carrying a second request after the point where one reading ends its body.
 * Safe: the backend never sees the second request nor ambiguous framing; the client gets a 4xx
 * or the connection is closed (right after one response at most).
 */
function smuggle(id: string, head: string, body: string, note = '400 or close; nothing smuggled or ambiguous forwarded'): Case {
  return {
    id: `framing.${id}`,
    group: 'framing',
    expect: note,
    async run(env) {
      const { r, seen } = await h1(env, [`POST /c/${id} HTTP/1.1\r\nHost: app\r\n${head}\r\n${body}`], { lingerMs: 300, timeoutMs: 4_000 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if (rejected(r)) return verdict(got, seen.some((q) => q.complete) ? 'rejected, but the backend got the request too' : undefined);
      if (r.finals.length > 1) return verdict(got, 'the client got a response for a second request read from the body');
      if (!r.closed) return verdict(got, 'accepted ambiguous framing and kept the connection open');
      return verdict(got, undefined);
    },
  };
}

const CL_TE_BODY = `0\r\n\r\n${SMUGGLED}`;

function h2Case(id: string, expect: string, headers: OutgoingHttpHeaders, data: string[], check: (res: Awaited<ReturnType<typeof h2Exchange>>, seen: SeenRequest[], env: CaseEnv) => string | undefined, respond?: Responder): Case {
  return {
    id,
    group: id.split('.')[0]!,
    expect,
    respond,
    async run(env) {
      const res = await h2Exchange(env.h2(), { ':authority': 'app', ':scheme': 'https', ...headers }, data, 5_000);
      await new Promise((r) => setTimeout(r, 100));
      const seen = env.backend.caseRequests();
      const got = `${res.status || '-'}${res.rstCode ? ` rst ${res.rstCode}` : ''}${res.error && !res.rstCode ? ` ${res.error}` : ''}${res.timedOut ? ' timeout' : ''} ${seenText(seen)}`;
      return verdict(got, backendClean(env, seen) ?? check(res, seen, env));
    },
  };
}

/** the stream was refused: a reset, or a 4xx, and nothing complete reached the backend */
function h2Refused(res: Awaited<ReturnType<typeof h2Exchange>>, seen: SeenRequest[]): string | undefined {
  const refused = (res.rstCode !== undefined && res.rstCode !== 0) || (res.status >= 400 && res.status < 500) || (!!res.error && res.status === 0);
  if (!refused) return `expected a stream reset or 400, got ${res.status}`;
  if (seen.some((q) => q.complete && q.body.length > 0 && q.framing !== 'none' && q.body.toString().includes('hello') && q.body.length > 3)) return 'the backend got the over-long body as a complete request';
  return undefined;
}

const framing: Case[] = [
  ...['GET', 'HEAD', 'OPTIONS', 'DELETE'].map(bodyOnMethod),
  smuggle('cl-te', 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', CL_TE_BODY),
  smuggle('te-ows-chunked', 'Content-Length: 4\r\nTransfer-Encoding:  chunked\r\n', CL_TE_BODY),
  smuggle('te-folded-line', 'Content-Length: 4\r\n Transfer-Encoding: chunked\r\n', CL_TE_BODY),
  smuggle('te-chunked-identity', 'Content-Length: 4\r\nTransfer-Encoding: chunked, identity\r\n', CL_TE_BODY),
  smuggle('te-chunked-identity-no-cl', 'Transfer-Encoding: chunked, identity\r\n', CL_TE_BODY),
  smuggle('te-xchunked', 'Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n', CL_TE_BODY),
  smuggle('te-tab-before-colon', 'Content-Length: 4\r\nTransfer-Encoding\t: chunked\r\n', CL_TE_BODY),
  smuggle('te-space-before-colon', 'Content-Length: 4\r\nTransfer-Encoding : chunked\r\n', CL_TE_BODY),
  smuggle('te-chunked-twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  smuggle('cl-duplicate-differing', `Content-Length: 4\r\nContent-Length: ${4 + SMUGGLED.length}\r\n`, `abcd${SMUGGLED}`),
  smuggle('cl-list-differing', `Content-Length: 4, ${4 + SMUGGLED.length}\r\n`, `abcd${SMUGGLED}`),
  smuggle('cl-plus-sign', 'Content-Length: +4\r\n', `abcd${SMUGGLED}`),
  smuggle('cl-negative', 'Content-Length: -4\r\n', `abcd${SMUGGLED}`),
  smuggle('cl-inner-space', 'Content-Length: 4 4\r\n', `abcd${SMUGGLED}`),
  smuggle('chunk-size-invalid', 'Transfer-Encoding: chunked\r\n', `zz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  smuggle('chunk-size-negative', 'Transfer-Encoding: chunked\r\n', `-5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  smuggle('chunk-size-0x', 'Transfer-Encoding: chunked\r\n', `0x5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  smuggle('chunk-size-overflow', 'Transfer-Encoding: chunked\r\n', `10000000000000005\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
  smuggle('chunk-data-no-crlf', 'Transfer-Encoding: chunked\r\n', `5\r\nhelloXX0\r\n\r\n${SMUGGLED}`),
  smuggle('chunk-ext-bare-lf', 'Transfer-Encoding: chunked\r\n', `5;a\nb\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, '400 or close, or the chunk forwarded re-framed; nothing smuggled'),
  {
    id: 'framing.chunk-ext-long',
    group: 'framing',
    expect: '400/413, or forwarded re-framed (body "hello")',
    async run(env) {
      const { r, seen } = await h1(env, [`POST /c/ext HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5;${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`], { lingerMs: 100 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if ((rejected(r) || (r.finals[0]?.status ?? 0) >= 500) && !seen.some((q) => q.complete)) return verdict(got, undefined);
      const q = seen[0];
      return verdict(got, q && q.complete && q.body.toString() === 'hello' && r.finals[0]?.status === 200 ? undefined : 'neither rejected nor forwarded intact');
    },
  },
  {
    id: 'framing.chunked-missing-final',
    group: 'framing',
    expect: 'no complete request upstream, no 2xx; closed or 400 after the client FIN',
    async run(env) {
      const { r, seen } = await h1(env, ['POST /c/unfinished HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { wait: 300 }, { end: true }], { timeoutMs: 4_000, lingerMs: 100 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if (seen.some((q) => q.complete)) return verdict(got, 'the backend got a complete request from an unfinished body');
      if (r.finals.some((f) => f.status < 300)) return verdict(got, 'the client got a success for an unfinished body');
      if (!r.closed && !rejected(r)) return verdict(got, 'the connection hung');
      return verdict(got, undefined);
    },
  },
  {
    id: 'framing.get-te-chunked',
    group: 'framing',
    expect: 'body forwarded chunked (or re-framed), or 400; never bare body bytes',
    async run(env) {
      const { r, seen } = await h1(env, [`GET /c/getchunked HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], { lingerMs: 200 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if (rejected(r) && seen.length === 0) return verdict(got, undefined);
      const q = seen[0];
      if (!q) return verdict(got, 'neither forwarded nor rejected');
      if (q.framing === 'none' || q.body.toString() !== 'hello') return verdict(got, 'the body was dropped');
      return verdict(got, r.finals[0]?.status === 200 ? undefined : 'expected 200');
    },
  },
  h2Case('framing.h2-get-data-cl', 'body forwarded with framing (CL 5 or chunked)', { ':method': 'GET', ':path': '/c/h2body', 'content-length': '5' }, ['hello'], (res, seen) => {
    const q = seen[0];
    if (res.status >= 400 && res.status < 500 && !q) return undefined;
    if (!q) return 'not forwarded';
    if (!q.complete) return 'content-length forwarded without the body: the backend waits for bytes that never come';
    if (q.framing === 'none' || q.body.toString() !== 'hello') return 'the body was dropped';
    return res.status === 200 ? undefined : `expected 200, got ${res.status}`;
  }),
  h2Case('framing.h2-data-exceeds-cl', 'stream reset or 400; nothing past the declared length upstream', { ':method': 'POST', ':path': '/c/h2long', 'content-length': '3' }, ['hello', SMUGGLED], (res, seen) => h2Refused(res, seen)),
  h2Case('framing.h2-data-short-of-cl', 'stream reset or 400; no complete request upstream', { ':method': 'POST', ':path': '/c/h2short', 'content-length': '10' }, ['hello'], (res, seen) => {
    if (seen.some((q) => q.complete)) return 'the backend got a complete request';
    return res.status >= 200 && res.status < 300 ? 'the client got a success for a short body' : undefined;
  }),
];

// ---------- 2. trailers to an HTTP/2 client

function trailerCase(name: string, value: string): Case {
  const respond: Responder = () => ({ raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, ${name}\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\n${name}: ${value}\r\n\r\n` });
  return {
    id: `trailers.h2-${name.toLowerCase()}`,
    group: 'trailers',
    expect: `200 "hello", ${name} trailer not forwarded; next request OK`,
    respond,
    async run(env) {
      const session = env.h2();
      const res = await h2Exchange(session, { ':method': 'GET', ':path': '/c/trailer', ':authority': 'app', ':scheme': 'https' }, [], 2_500);
      const names = Object.keys(res.trailers);
      let got = `${res.status || '-'}${res.rstCode ? ` rst ${res.rstCode}` : ''}${res.timedOut ? ' timeout' : ''} trailers: ${names.join(',') || '-'}`;
      let why: string | undefined;
      if (names.includes(name.toLowerCase())) why = `${name} forwarded as a trailer`;
      else if (res.status !== 200 || res.body.toString() !== 'hello') why = 'the response did not arrive whole';
      else if (res.timedOut || (res.rstCode !== undefined && res.rstCode !== 0)) why = 'the stream did not end cleanly';
      // the same session must still work (the worker, and the connection, stayed up)
      const again = session.closed || session.destroyed ? undefined : await h2Exchange(session, { ':method': 'GET', ':path': '/followup/h2-same-session', ':authority': 'app', ':scheme': 'https' }, [], 3_000);
      got += `; again ${again ? again.status || again.error || 'timeout' : 'session gone'}`;
      if (!why && (!again || again.status !== 200)) why = 'a follow-up request on the same session failed';
      return verdict(got, why);
    },
  };
}

const trailers: Case[] = [
  trailerCase('Connection', 'close'),
  trailerCase('Keep-Alive', 'timeout=5'),
  trailerCase('Transfer-Encoding', 'chunked'),
  trailerCase('Upgrade', 'h2c'),
  trailerCase('Proxy-Connection', 'keep-alive'),
];

// ---------- 3. paths

/** The route a (normalised) path selects. */
function routeOf(path: string): string {
  return path === '/public' || path.startsWith('/public/') || path.startsWith('/public?') ? 'public' : 'root';
}

function pathCase(name: string, target: string): Case {
  return {
    id: `path.${name}`,
    group: 'path',
    expect: 'routed by the normalised path and forwarded normalised, or 400/404',
    async run(env) {
      const { r, seen } = await h1(env, [`GET ${target} HTTP/1.1\r\nHost: app\r\n\r\n`]);
      const got = `${statuses(r)} ${seenText(seen)}`;
      if (!seen.length) return verdict(got, r.finals[0] && [400, 404].includes(r.finals[0].status) ? undefined : 'neither forwarded nor 400/404');
      for (const q of seen) {
        const raw = pathOf(q.url);
        const resolved = removeDotSegments(decodeAll(raw));
        if (q.backend === 'public' && routeOf(resolved) !== 'public') return verdict(got, `the /public backend got ${q.url}, which resolves to ${resolved}`);
        const dotsDecoded = raw.replace(/%2e/gi, '.');
        if (removeDotSegments(dotsDecoded) !== dotsDecoded) return verdict(got, `the backend got the unnormalised path ${q.url}`);
        if (routeOf(resolved) !== q.backend) return verdict(got, `routed to ${q.backend}, the resolved path ${resolved} belongs to ${routeOf(resolved)}`);
      }
      return verdict(got, undefined);
    },
  };
}

const paths: Case[] = [
  pathCase('dotdot', '/public/../secret.html'),
  pathCase('pct-2e-lower', '/public/%2e%2e/secret.html'),
  pathCase('pct-2e-upper', '/public/%2E%2E/secret.html'),
  pathCase('dot-dotdot', '/public/./../secret.html'),
  pathCase('double-slash-dotdot', '/public//../secret.html'),
  pathCase('dotdot-pct-2f', '/public/..%2fsecret.html'),
  pathCase('root-dotdot', '/..'),
  pathCase('public-dotdot', '/public/..'),
];

// ---------- 4. Host

function badHost(name: string, headerLines: string, version = 'HTTP/1.1', expect = '400, not forwarded', ok: (status: number) => boolean = (s) => s === 400): Case {
  return {
    id: `host.${name}`,
    group: 'host',
    expect,
    async run(env) {
      const { r, seen } = await h1(env, [`GET /c/host ${version}\r\n${headerLines}\r\n`]);
      const got = `${statuses(r)} ${seenText(seen)}`;
      if (seen.length) return verdict(got, 'forwarded to the backend');
      return verdict(got, r.finals[0] && ok(r.finals[0].status) ? undefined : `expected ${expect}`);
    },
  };
}

function absoluteForm(name: string, hostHeader: string): Case {
  return {
    id: `host.${name}`,
    group: 'host',
    expect: 'routed by the URI authority; backend gets /x and Host: app',
    async run(env) {
      const { r, seen } = await h1(env, [`GET http://app/x HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`]);
      const got = `${statuses(r)} ${seenText(seen)}${seen[0] ? ` host=${header(seen[0].headers, 'host').join('|')}` : ''}`;
      const q = seen[0];
      if (!q) return verdict(got, 'not forwarded');
      if (q.url !== '/x') return verdict(got, `the backend got the target ${q.url}`);
      const hosts = header(q.headers, 'host');
      if (hosts.length !== 1 || hosts[0]!.toLowerCase() !== 'app') return verdict(got, `the backend got Host ${hosts.join(', ')}`);
      return verdict(got, r.finals[0]?.status === 200 ? undefined : 'expected 200');
    },
  };
}

const hosts: Case[] = [
  badHost('userinfo', 'Host: app:@evil.example\r\n'),
  badHost('port-path', 'Host: app:80/evil\r\n'),
  badHost('port-markup', 'Host: app:"><script>\r\n'),
  badHost('port-letters', 'Host: app:abc\r\n'),
  // an empty Host is well-formed (RFC 9112 §3.2) but names nothing to route to
  badHost('empty', 'Host: \r\n', 'HTTP/1.1', '400 or 404, not forwarded', (st) => st === 400 || st === 404),
  badHost('duplicate', 'Host: app\r\nHost: other.example\r\n'),
  badHost('duplicate-same', 'Host: app\r\nHost: app\r\n'),
  badHost('http10-none', '', 'HTTP/1.0', '400 or 404, not forwarded', (s) => s === 400 || s === 404),
  absoluteForm('absolute-form-other-host', 'other.example'),
  absoluteForm('absolute-form-same-host', 'app'),
];

// ---------- 5. forwarding headers, trust off

function spoof(name: string, value: string, marker: string): Case {
  return {
    id: `forwarded.${name.toLowerCase()}`,
    group: 'forwarded',
    expect: `client ${name} never reaches the backend`,
    async run(env) {
      const { r, seen } = await h1(env, [`GET /c/fwd HTTP/1.1\r\nHost: app\r\n${name}: ${value}\r\n\r\n`]);
      const q = seen[0];
      const leaked = q?.headers.filter(([n, v]) => v.includes(marker) || (name.includes('_') && n.toLowerCase() === name.toLowerCase()));
      const got = `${statuses(r)} ${q ? (leaked!.length ? `be got ${leaked!.map(([n, v]) => `${n}: ${v}`).join('; ')}` : 'be: clean') : 'be: -'}`;
      if (!q) return verdict(got, rejected(r) ? undefined : 'not forwarded');
      return verdict(got, leaked!.length ? 'the client value reached the backend' : undefined);
    },
  };
}

const forwarded: Case[] = [
  spoof('X-Forwarded-For', '6.6.6.6', '6.6.6.6'),
  spoof('X_Forwarded_For', '6.6.6.6', '6.6.6.6'),
  spoof('X-Real-IP', '6.6.6.6', '6.6.6.6'),
  spoof('X_Real_IP', '6.6.6.6', '6.6.6.6'),
  spoof('Forwarded', 'for=6.6.6.6;host=evil.example;proto=https', '6.6.6.6'),
  spoof('X-Forwarded-Host', 'evil.example', 'evil.example'),
  spoof('X-Forwarded-Proto', 'https', 'https'),
  spoof('X_Forwarded_Proto', 'https', 'https'),
];

// ---------- 6. upstream misbehaviour

function upstreamCase(name: string, expect: string, respond: Canned | ((req: SeenRequest) => Canned), check: (r: RawResult, seen: SeenRequest[], env: CaseEnv) => string | undefined, extra: Partial<Case> = {}, steps?: Step[]): Case {
  return {
    id: `upstream.${name}`,
    group: 'upstream',
    expect,
    respond: (req) => (typeof respond === 'function' ? respond(req) : respond),
    ...extra,
    async run(env) {
      const { r, seen } = await h1(env, steps ?? [`GET /c/${name} HTTP/1.1\r\nHost: app\r\n\r\n`], { timeoutMs: env.target.upstreamTimeoutMs + 3_000, lingerMs: 50 });
      const got = `${statuses(r)} in ${(r.ms / 1000).toFixed(1)}s`;
      return verdict(got, check(r, seen, env));
    },
  };
}

const is502 = (r: RawResult): string | undefined => (r.finals[0]?.status === 502 ? undefined : 'expected 502');

const upstream: Case[] = [
  upstreamCase('101-to-plain-get', '502 within the upstream timeout', { raw: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', then: 'hang' }, (r, _s, env) => {
    if (r.finals[0]?.status === 101) return 'the 101 was passed to a client that asked for no upgrade';
    if (r.ms > env.target.upstreamTimeoutMs + 1_500) return 'hung past the upstream timeout';
    return is502(r);
  }, { freshUpstreamAfter: true }),
  upstreamCase('bare-lf-headers', '200 "ok" (bare LF accepted, like nginx/Caddy)', { raw: 'HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 2\n\nok' }, (r) =>
    r.finals[0]?.status === 200 && r.finals[0].body.toString() === 'ok' ? undefined : 'expected 200 "ok"'),
  // RFC 9112 §6.3: chunked overrides the length; an intermediary may forward the message after
  // removing Content-Length. Either that or a 502 is safe, if the connection is not reused.
  upstreamCase('cl-and-te', '502, or the chunked reading without Content-Length; upstream connection not reused', { raw: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' }, (r) => {
    const f = r.finals[0];
    if (f?.status === 502) return undefined;
    if (f?.status !== 200 || !f.complete || f.body.toString() !== 'hello') return 'expected 502 or the chunked body "hello"';
    return f.headers.some(([name]) => name.toLowerCase() === 'content-length') ? 'the length the body did not follow was passed on' : undefined;
  }, { freshUpstreamAfter: true }),
  upstreamCase('cl-differing', '502; upstream connection not reused', { raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' }, is502, { freshUpstreamAfter: true }),
  upstreamCase('close-mid-body', 'cut response (close before Content-Length) or 502; no hang', { raw: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf', then: 'close' }, (r) => {
    const f = r.finals[0];
    if (r.timedOut) return 'hung';
    if (f && f.status === 502) return undefined;
    if (f && f.status === 200 && !f.complete && r.closed) return undefined;
    return 'expected a cut response or 502';
  }),
  upstreamCase('close-mid-chunked', 'cut response (no last chunk) or 502; no hang', { raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n', then: 'close' }, (r) => {
    const f = r.finals[0];
    if (r.timedOut) return 'hung';
    if (f && f.status === 502) return undefined;
    if (f && f.status === 200 && !f.complete && r.closed) return undefined;
    return 'expected a cut response or 502';
  }),
  upstreamCase('connection-listed-header', 'headers listed in Connection not forwarded', { raw: 'HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: secret\r\nContent-Length: 2\r\n\r\nok' }, (r) => {
    const f = r.finals[0];
    if (f?.status !== 200) return 'expected 200';
    return header(f.headers, 'x-hop').length ? 'X-Hop forwarded' : undefined;
  }),
  {
    id: 'upstream.keepalive-pipelined',
    group: 'upstream',
    expect: 'two pipelined requests, two responses, in order',
    respond: (req) => ({ raw: `HTTP/1.1 200 OK\r\nContent-Length: ${req.url.length}\r\n\r\n${req.url}` }),
    async run(env) {
      const { r } = await h1(env, ['GET /c/one HTTP/1.1\r\nHost: app\r\n\r\nGET /c/two HTTP/1.1\r\nHost: app\r\n\r\n'], { responses: 2, timeoutMs: 4_000 });
      const bodies = r.finals.map((f) => f.body.toString());
      return verdict(`${statuses(r)} ${JSON.stringify(bodies)}`, bodies[0] === '/c/one' && bodies[1] === '/c/two' ? undefined : 'expected /c/one then /c/two');
    },
  },
];

// ---------- 7. request parser

/** `mayForwardClean`: forwarding is also safe when what the backend got is well-formed (obs-fold replaced by SP, RFC 9112 §5.2) */
function malformed(name: string, request: string, expect = '400/431 or close; not forwarded', mayForwardClean = false): Case {
  return {
    id: `parser.${name}`,
    group: 'parser',
    expect,
    async run(env) {
      const { r, seen } = await h1(env, [request], { lingerMs: 100 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      if (seen.length && mayForwardClean) return verdict(got, backendClean(env, seen));
      if (seen.length) return verdict(got, 'forwarded to the backend');
      return verdict(got, rejected(r) ? undefined : 'not rejected');
    },
  };
}

const parser: Case[] = [
  malformed('nul-in-value', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-A: a\x00b\r\n\r\n'),
  malformed('cr-in-value', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-A: a\rb\r\n\r\n'),
  malformed('ctl-in-value', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-A: a\x01b\r\n\r\n'),
  malformed('nul-in-name', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-\x00A: b\r\n\r\n'),
  malformed('space-in-name', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX A: b\r\n\r\n'),
  malformed('lf-in-name', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-A\n: b\r\n\r\n'),
  malformed('obs-fold', 'GET /c/p HTTP/1.1\r\nHost: app\r\nX-A: a\r\n b\r\n\r\n', '400, or forwarded with the fold replaced by SP', true),
  malformed('header-64k', `GET /c/p HTTP/1.1\r\nHost: app\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
  malformed('many-headers', `GET /c/p HTTP/1.1\r\nHost: app\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`),
  malformed('invalid-method', 'G(T /c/p HTTP/1.1\r\nHost: app\r\n\r\n'),
  malformed('invalid-version', 'GET /c/p HTTP/1.x\r\nHost: app\r\n\r\n'),
  malformed('version-9', 'GET /c/p HTTP/9.1\r\nHost: app\r\n\r\n'),
  malformed('space-in-target', 'GET /c/a b HTTP/1.1\r\nHost: app\r\n\r\n'),
  {
    // an expectation the server cannot meet is 417 (RFC 9110 §10.1.1); 400 is also safe
    id: 'parser.expect-unknown',
    group: 'parser',
    expect: '417 (or 400), not forwarded',
    async run(env) {
      const { r, seen } = await h1(env, ['POST /c/p HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\nhello'], { lingerMs: 100 });
      const got = `${statuses(r)} ${seenText(seen)}`;
      if (seen.length) return verdict(got, 'forwarded to the backend');
      return verdict(got, r.finals[0] && [400, 417].includes(r.finals[0].status) ? undefined : 'expected 417 or 400');
    },
  },
  {
    id: 'parser.expect-100-continue',
    group: 'parser',
    expect: 'at most one 100, then the final 200; body forwarded once, framed',
    async run(env) {
      const { r, seen } = await h1(env, ['POST /c/expect HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', { wait: 300 }, 'hello'], { lingerMs: 100 });
      const got = `${r.responses.map((x) => x.status).join(',') || statuses(r)} ${seenText(seen)}`;
      const why = backendClean(env, seen);
      if (why) return verdict(got, why);
      if (r.responses.filter((x) => x.status === 100).length > 1) return verdict(got, 'more than one 100 Continue');
      const q = seen[0];
      if (seen.length !== 1 || !q?.complete || q.body.toString() !== 'hello') return verdict(got, 'the body did not reach the backend once');
      return verdict(got, r.finals.length === 1 && r.finals[0]!.status === 200 ? undefined : 'expected one final 200');
    },
  },
];
// ---------- 8. slow clients

const slow: Case[] = [
  {
    id: 'slow.headers-trickled',
    group: 'slow',
    expect: 'closed or 408 once the header timeout passes; not forwarded',
    needs: 'header-timeout',
    timeoutMs: 12_000,
    async run(env) {
      const limit = env.target.headerTimeoutMs!;
      const trickle = limit + 2_000;
      const steps: Step[] = ['GET /c/slow HTTP/1.1\r\nHost: app\r\n'];
      for (let t = 0; t < trickle; t += 200) steps.push({ wait: 200 }, `X-Slow-${t}: 1\r\n`);
      steps.push('\r\n');
      const { r, seen } = await h1(env, steps, { timeoutMs: trickle + 2_000 });
      const got = `${statuses(r)} after ${(r.ms / 1000).toFixed(1)}s ${seenText(seen)}`;
      if (seen.length) return verdict(got, 'forwarded after trickling past the timeout');
      if (r.finals[0] && r.finals[0].status !== 408 && r.finals[0].status !== 400) return verdict(got, 'expected 408 or a close');
      if (!r.closed && !r.finals[0]) return verdict(got, 'still open');
      return verdict(got, r.ms > limit + 1_500 ? 'closed, but well after the header timeout' : undefined);
    },
  },
];

export const CASES: readonly Case[] = [...framing, ...trailers, ...paths, ...hosts, ...forwarded, ...upstream, ...parser, ...slow];
