/**
 * The real `dispenser` CLI (packages/cli/bin/run.js) as a child process, the way a user or
 * systemd runs it: a long-running daemon whose JSON log lines a test reads (`startDaemon`), or
 * one command run to completion (`runCli`). The CLI's own tests pass fixture children through
 * `env`; the end-to-end suites run the real ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** dist/testing/daemon.js → packages/cli/bin/run.js */
export const CLI = fileURLToPath(new URL('../../../cli/bin/run.js', import.meta.url));

/** What every run gets: JSON logs, and no systemd notification socket inherited from the shell. */
const BASE_ENV: NodeJS.ProcessEnv = { DISPENSER_LOG_FORMAT: 'json', NOTIFY_SOCKET: '' };

export interface LogLine {
  level?: number;
  msg?: string;
  component?: string;
  service?: string;
  [key: string]: unknown;
}

export interface TestContext {
  after(fn: () => void | Promise<void>): void;
}

export interface DaemonOptions {
  /** a command that runs the daemon's command line (e.g. a socket holder) */
  wrap?: string[];
  /**
   * Starts the daemon in its own process group and kills the whole group after the test, so
   * children a killed supervisor left behind do not outlive it.
   */
  t?: TestContext;
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** JSON log lines, stdout and stderr, in arrival order */
  lines: LogLine[];
  /** non-JSON output, e.g. oclif errors */
  text: string[];
  /** the exit code once the process has exited */
  exited: Promise<number | null>;
  /** the first log line from index `from` on matching `pred` */
  find(pred: (l: LogLine) => boolean, from?: number): LogLine | undefined;
  /** waits for a log line from index `from` on; rejects on timeout or once the output has ended */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** SIGTERM, wait for exit (SIGKILL after `timeoutMs`); resolves with the exit code */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}, opts: DaemonOptions = {}): Daemon {
  const command = [...(opts.wrap ?? []), process.execPath, CLI, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, ...BASE_ENV, DISPENSER_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.t !== undefined,
  });
  if (opts.t) {
    opts.t.after(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
  }
  const lines: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const onLine = (raw: string): void => {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) lines.push(parsed as LogLine);
      else text.push(raw);
    } catch {
      text.push(raw);
    }
    if (process.env.DISPENSER_TEST_VERBOSE) process.stderr.write(`[daemon] ${raw}\n`);
    wake();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);

  const exited = once(child, 'exit').then(() => child.exitCode);
  // 'close' comes once the output is read to its end, which a child the daemon left running can
  // hold open: it ends waiting for a log line, not the wait for the exit
  const closed = once(child, 'close').then(wake);
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const tail = (): string => [...lines.slice(-15).map((l) => JSON.stringify(l)), ...text.slice(-10)].join('\n');

  function find(pred: (l: LogLine) => boolean, from = 0): LogLine | undefined {
    for (let i = from; i < lines.length; i++) if (pred(lines[i]!)) return lines[i];
    return undefined;
  }

  function waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let seen = from;
      let closedOut = false;
      const check = (): void => {
        for (; seen < lines.length; seen++) {
          const l = lines[seen]!;
          if (pred(l)) {
            cleanup();
            resolve(l);
            return;
          }
        }
        if (closedOut) {
          cleanup();
          reject(new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before the log line; output:\n${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a log line; last lines:\n${tail()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      void closed.then(() => {
        closedOut = true;
        check();
      });
      waiters.add(check);
      check();
    });
  }

  async function stop(timeoutMs = 30_000): Promise<number | null> {
    if (gone()) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  return { child, pid: child.pid!, lines, text, exited, find, waitForLog, stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI once (`-s stop`, `down`, `--help`, a refusal) and resolves with its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...process.env, ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
  return once(child, 'close').then(() => {
    clearTimeout(timer);
    return { code: child.exitCode, stdout, stderr };
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
