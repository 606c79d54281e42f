import type { ClientHttp2Session } from 'node:http2';
import { makeCert, type Cert } from '../helpers.js';
import { RecordingBackend } from './backend.js';
import type { Case, CaseEnv, Verdict } from './cases.js';
import { h2Session, rawExchange } from './client.js';
import type { Target } from './targets.js';

/** Runs cases one at a time against a target, each bounded in time and followed by a probe. */

export interface Outcome extends Verdict {
  /** set when the case cannot run on this target (the reason) */
  skipped?: string;
}

export function makeSuiteCert(): Cert {
  return makeCert(['app']);
}

export async function startBackend(): Promise<RecordingBackend> {
  return new RecordingBackend().start();
}

const DEFAULT_CASE_TIMEOUT_MS = 8_000;

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export function skipReason(c: Case, target: Target): string | undefined {
  if (c.needs === 'header-timeout' && target.headerTimeoutMs === undefined) return `${target.name} has no client header timeout setting (headerTimeoutMs) yet`;
  return undefined;
}

export async function runCase(c: Case, target: Target, backend: RecordingBackend, cert: Cert): Promise<Outcome> {
  const skipped = skipReason(c, target);
  if (skipped) return { ok: true, got: 'skipped', skipped };
  backend.reset(c.respond);
  target.crashes.length = 0;
  const sessions: ClientHttp2Session[] = [];
  const env: CaseEnv = {
    target,
    backend,
    ca: cert.certPem,
    h2: () => {
      const s = h2Session(target.httpsPort, 'app', cert.certPem);
      sessions.push(s);
      return s;
    },
  };
  let v: Verdict;
  try {
    v = await bounded(c.run(env), c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS, c.id);
  } catch (err) {
    v = { ok: false, got: 'error', why: (err as Error).message };
  } finally {
    for (const s of sessions) s.destroy();
  }
  const caseConns = new Set(backend.caseRequests().map((q) => `${q.backend}:${q.conn}`));
  // the probe: a fresh client connection must get its own answer from the root backend
  const path = `/followup/${c.id}`;
  const probe = await rawExchange([`GET ${path} HTTP/1.1\r\nHost: app\r\n\r\n`], { port: target.httpPort, timeoutMs: 3_000 });
  const answer = probe.finals[0];
  const seen = backend.requests.find((q) => q.url.endsWith(path));
  let why: string | undefined;
  if (!answer || answer.status !== 200 || answer.body.toString() !== `root GET ${path}`) why = `the next request on a fresh connection got ${answer ? `${answer.status} ${JSON.stringify(answer.body.toString().slice(0, 40))}` : probe.timedOut ? 'no answer' : 'a closed connection'}`;
  else if (!seen || seen.method !== 'GET' || seen.problems.length) why = `the next request reached the backend as ${seen ? JSON.stringify(`${seen.method} ${seen.url}`) : 'nothing'}${seen?.problems.length ? ` (${seen.problems.join(', ')})` : ''}: leftover bytes on a reused upstream connection`;
  else if (c.freshUpstreamAfter && caseConns.has(`${seen.backend}:${seen.conn}`)) why = 'the upstream connection that misbehaved was reused';
  if (target.crashes.length) why = `uncaught exception in the proxy: ${target.crashes[0]!.message}`;
  if (why && v.ok) return { ok: false, got: `${v.got}; probe failed`, why };
  if (why) return { ...v, why: `${v.why}; ${why}` };
  return v;
}
