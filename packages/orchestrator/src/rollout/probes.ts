import http from 'node:http';
import net from 'node:net';
import { healthyHttpStatus, type ProbeResult } from './health.js';

/**
 * Network probes against a candidate container's address, from the host: the same side the
 * proxy workers reach it from. No keep-alive: each probe is one fresh connection, as a proxy's
 * first request after the switch would be.
 */

/** `host`: the Host header, the service's public name as the proxy would send it (apps checking Host accept it) */
export function probeHttp(ip: string, port: number, path: string, timeoutMs: number, host?: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.get({ host: ip, port, path, agent: false, headers: { 'user-agent': 'dispenser-health', ...(host ? { host } : {}) } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done({ ok: healthyHttpStatus(status), detail: `HTTP ${status}` });
    });
    // a whole-request deadline: socket 'timeout' only measures idleness
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, detail: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: err.code ?? err.message }));
  });
}

export function probeTcp(ip: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, detail: `no connection within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, detail: `port ${port} accepts connections` });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: err.code ?? err.message });
    });
  });
}
