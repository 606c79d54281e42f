/** Small loopback HTTP client helpers for end-to-end tests. */
import http from 'node:http';

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** Reads a client request's reply as text; the request fails on its timeout. */
export function readReply(req: http.ClientRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    req.on('response', (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function get(port: number, path: string, host: string, timeoutMs = 5000): Promise<Reply> {
  return readReply(http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: timeoutMs }));
}

/** Polls until `pred` holds for a reply, or throws with the last reply/error. */
export async function waitForReply(port: number, path: string, host: string, pred: (r: Reply) => boolean, timeoutMs = 30_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await get(port, path, host);
      if (pred(r)) return r;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no matching reply from ${host}${path} on :${port}; last: ${String(last)}`);
}

/**
 * Sends requests back to back (bounded by count and time) and counts outcomes — the
 * "traffic flows while we change things" loop.
 */
export function loadLoop(port: number, path: string, host: string, opts: { maxRequests: number; maxMs: number }) {
  const outcomes = { ok: 0, failed: 0, statuses: new Map<string, number>(), bodies: new Set<string>() };
  let stopped = false;
  const done = (async () => {
    const start = Date.now();
    for (let i = 0; i < opts.maxRequests && !stopped && Date.now() - start < opts.maxMs; i++) {
      try {
        const r = await get(port, path, host);
        if (r.status >= 200 && r.status < 300) outcomes.ok++;
        else outcomes.failed++;
        outcomes.statuses.set(String(r.status), (outcomes.statuses.get(String(r.status)) ?? 0) + 1);
        outcomes.bodies.add(r.body.trim());
      } catch (e) {
        outcomes.failed++;
        const k = (e as Error).message;
        outcomes.statuses.set(k, (outcomes.statuses.get(k) ?? 0) + 1);
      }
    }
  })();
  return {
    outcomes,
    async stop() {
      stopped = true;
      await done;
      return outcomes;
    },
  };
}
