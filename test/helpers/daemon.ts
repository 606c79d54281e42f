/**
 * Runs the real `dispenser` CLI as a child process against a temporary config directory, the
 * way a user (or systemd) would, and reads its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../packages/cli/bin/run.js', import.meta.url));

export interface LogLine {
  level?: number;
  msg?: string;
  component?: string;
  service?: string;
  [key: string]: unknown;
}

export interface Daemon {
  child: ChildProcess;
  lines: LogLine[];
  /** non-JSON output, e.g. oclif errors */
  text: string[];
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, wait for exit; resolves with the exit code */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** `wrap`: a command that runs the daemon's command line (e.g. a socket holder) */
export function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): Daemon {
  const command = [...wrap, process.execPath, CLI, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, DISPENSER_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (raw: string): void => {
    try {
      lines.push(JSON.parse(raw) as LogLine);
    } catch {
      text.push(raw);
    }
    if (process.env.DISPENSER_TEST_VERBOSE) process.stderr.write(`[daemon] ${raw}\n`);
    for (const w of waiters) w();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);

  const exited = once(child, 'exit').then(([code]) => code as number | null);

  function waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = (): void => {
        for (; seen < lines.length; seen++) {
          const l = lines[seen]!;
          if (pred(l)) {
            cleanup();
            resolve(l);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a log line; last lines:\n${[...lines.slice(-15).map((l) => JSON.stringify(l)), ...text.slice(-10)].join('\n')}`));
      }, timeoutMs);
      const onExit = (): void => {
        check();
        cleanup();
        reject(new Error(`daemon exited (${child.exitCode}) before the log line; output:\n${[...lines.slice(-15).map((l) => JSON.stringify(l)), ...text.slice(-10)].join('\n')}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });
  }

  async function stop(timeoutMs = 30_000): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  return { child, lines, text, waitForLog, stop };
}
