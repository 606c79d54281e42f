/**
 * Helpers for end-to-end tests of the daemon's process model: log lines that appear after a point
 * in time, free ports, process titles and TLS peers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import https from 'node:https';
import tls from 'node:tls';
import type { Daemon, LogLine } from '@dispenser/shared/testing/daemon';
import { get } from './http.js';
import { freePort } from '@dispenser/shared/testing/ports';
export { freePort };

/** Two distinct free ports (http and https). */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** The position to pass to `waitForLogAfter`: only lines logged from now on count. */
export function logMark(d: Daemon): number {
  return d.lines.length;
}

/** Waits for a log line logged at or after `mark` (lines are only ever appended). */
export function waitForLogAfter(d: Daemon, mark: number, pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
  return d.waitForLog(pred, timeoutMs, mark);
}

/** The last log line matching `pred`, if any. */
export function lastLog(d: Daemon, pred: (l: LogLine) => boolean): LogLine | undefined {
  for (let i = d.lines.length - 1; i >= 0; i--) if (pred(d.lines[i]!)) return d.lines[i];
  return undefined;
}

/** The process's command line as `ps` shows it (the process title once it is set). */
export function processTitle(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
}

export interface TlsPeer {
  subjectCN: string | undefined;
  issuerCN: string | undefined;
  subjectaltname: string | undefined;
  selfSigned: boolean;
  alpn: string | false | null;
  fingerprint256: string;
}

/** Completes a TLS handshake with SNI `servername` and describes the certificate served. */
export function tlsPeer(port: number, servername: string, timeoutMs = 5000, ALPNProtocols = ['h2', 'http/1.1']): Promise<TlsPeer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols }, () => {
      const cert = socket.getPeerCertificate(true);
      const cn = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
      resolve({
        subjectCN: cn(cert.subject?.CN),
        issuerCN: cn(cert.issuer?.CN),
        subjectaltname: cert.subjectaltname,
        selfSigned: cert.fingerprint256 === cert.issuerCertificate?.fingerprint256 || JSON.stringify(cert.subject) === JSON.stringify(cert.issuer),
        alpn: socket.alpnProtocol,
        fingerprint256: cert.fingerprint256,
      });
      socket.end();
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('TLS handshake timeout')));
    socket.on('error', reject);
  });
}

/** One HTTPS GET on a fresh connection with SNI = host, not verifying the certificate. */
export function httpsGet(port: number, path: string, host: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, servername: host, headers: { host }, rejectUnauthorized: false, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface TimedOutcomes {
  ok: number;
  /** every request that did not get a 2xx: when it ended and why */
  failures: Array<{ at: number; what: string }>;
  bodies: Set<string>;
}

/**
 * Like loadLoop (one request at a time on a fresh connection), but records when each failure
 * happened, so a test can tell which requests a kill tore down.
 */
export function timedLoop(port: number, path: string, host: string, maxMs: number) {
  const out: TimedOutcomes = { ok: 0, failures: [], bodies: new Set() };
  let stopped = false;
  const done = (async () => {
    const start = Date.now();
    while (!stopped && Date.now() - start < maxMs) {
      try {
        const r = await get(port, path, host);
        if (r.status >= 200 && r.status < 300) out.ok++;
        else out.failures.push({ at: Date.now(), what: String(r.status) });
        out.bodies.add(r.body.trim());
      } catch (e) {
        out.failures.push({ at: Date.now(), what: (e as Error).message });
      }
    }
  })();
  return {
    out,
    async stop(): Promise<TimedOutcomes> {
      stopped = true;
      await done;
      return out;
    },
  };
}

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(65536).decode().strip().replace("\\n", " "), flush=True)
`;

export interface NotifyReceiver {
  path: string;
  /** one entry per datagram, assignments separated by spaces (BARRIER=1 datagrams left out) */
  messages: string[];
  close(): void;
}

/**
 * A stand-in for systemd's notification socket (NOTIFY_SOCKET). Node has no unix datagram
 * sockets, so python3 listens; undefined when python3 is not installed.
 */
export async function notifyReceiver(path: string): Promise<NotifyReceiver | undefined> {
  if (spawnSync('python3', ['-c', 'pass']).status !== 0) return undefined;
  rmSync(path, { force: true });
  const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify receiver exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'listening') resolve();
      else if (line !== 'BARRIER=1') messages.push(line);
    });
  });
  return {
    path,
    messages,
    close() {
      child.kill();
      rmSync(path, { force: true });
    },
  };
}

/** Resolves with the exit code once the process has exited; rejects after `timeoutMs`. */
export function waitExit(child: ChildProcess, timeoutMs = 60_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export { setTimeout as sleep } from 'node:timers/promises';
