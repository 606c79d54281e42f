/** Runs the real CLI (bin/run.js) as a process with fixture children, and reads its log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@dispenser/shared/testing/ports';
export { freePort };

const here = fileURLToPath(new URL('.', import.meta.url));
export const cliBin = join(here, '..', '..', '..', 'bin', 'run.js');
export const fakeOrchestrator = join(here, '..', 'fixtures', 'fake-orchestrator.js');
export const fakeWorker = join(here, '..', 'fixtures', 'fake-worker.js');

export type LogLine = Record<string, unknown> & { msg?: string; component?: string };

export interface TestContext {
  after(fn: () => void | Promise<void>): void;
}

export interface FakeConfig {
  port: number;
  workers: number;
  enabled?: boolean;
  tag: string;
  invalid?: boolean;
  fatal?: string;
  crash?: boolean;
  /** stays up after `drain`, so the supervisor has to kill it */
  ignoreDrain?: boolean;
  shutdownTimeoutMs?: number;
}

export class Workspace {
  readonly dir: string;
  readonly configFile: string;
  readonly pidFile: string;
  constructor(t: TestContext) {
    this.dir = mkdtempSync(join(tmpdir(), 'dispenser-super-'));
    this.configFile = join(this.dir, 'dispenser.toml');
    this.pidFile = join(this.dir, 'dispenser.pid');
    t.after(() => rmSync(this.dir, { recursive: true, force: true }));
  }
  writeConfig(config: FakeConfig): void {
    writeFileSync(this.configFile, JSON.stringify(config));
  }
}

export class CliProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let buffer = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line, raw: true });
        }
      }
      this.wake();
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.wake();
    });
    this.exited = new Promise((resolve) => proc.on('exit', (code) => {
      this.wake();
      resolve(code);
    }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get pid(): number {
    return this.proc.pid!;
  }

  find(pred: (l: LogLine) => boolean, from = 0): LogLine | undefined {
    return this.lines.slice(from).find(pred);
  }

  /** Waits for a log line (from index `from`) matching pred. */
  async waitFor(pred: (l: LogLine) => boolean, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.find(pred, from);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for a log line; got:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr.join('')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Starts `node bin/run.js ARGS` in its own process group; the group is killed after the test. */
export function startCli(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const proc = spawn(process.execPath, [cliBin, ...args], {
    env: {
      ...process.env,
      DISPENSER_ORCHESTRATOR_ENTRY: fakeOrchestrator,
      DISPENSER_PROXY_ENTRY: fakeWorker,
      DISPENSER_LOG_FORMAT: 'json',
      DISPENSER_LOG_LEVEL: 'debug',
      NOTIFY_SOCKET: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const cli = new CliProcess(proc);
  t.after(() => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return cli;
}

/** Runs the CLI to completion (for -s, --help, refusals). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [cliBin, ...args], {
    env: { ...process.env, DISPENSER_ORCHESTRATOR_ENTRY: fakeOrchestrator, DISPENSER_PROXY_ENTRY: fakeWorker, DISPENSER_LOG_FORMAT: 'json', NOTIFY_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { code, stdout, stderr };
}

export interface Answer {
  worker: number;
  pid: number;
  tag: string | null;
}

export function get(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Answer);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
