/**
 * A real pino logger whose lines land in an array, so tests assert on what an operator would
 * read (message, level, fields), not on calls to a mock.
 */
import { pino, type Logger } from 'pino';

export interface CapturedLine {
  level: number;
  msg: string;
  service?: string;
  [key: string]: unknown;
}

export interface CapturedLog {
  log: Logger;
  lines: CapturedLine[];
  /** lines whose message matches `re`, of `service` when given */
  find(re: RegExp, service?: string): CapturedLine[];
}

export interface CaptureOptions {
  /** lowest level kept; default debug */
  level?: pino.Level;
  /** the `component` field every line carries; default orchestrator */
  component?: string;
  /** the array the lines go to, when the test declared it before the logger */
  into?: CapturedLine[];
}

/** pino's numeric levels, for assertions: `lines.filter((l) => l.level === LEVEL.warn)` */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export function captureLog(opts: CaptureOptions = {}): CapturedLog {
  const lines = opts.into ?? [];
  const log = pino({ level: opts.level ?? 'debug', base: { component: opts.component ?? 'orchestrator' } }, {
    write(s: string) {
      for (const line of s.split('\n')) if (line) lines.push(JSON.parse(line) as CapturedLine);
      if (process.env.DISPENSER_TEST_VERBOSE) process.stderr.write(s);
    },
  });
  return { log, lines, find: (re, service) => lines.filter((l) => re.test(l.msg) && (service === undefined || l.service === service)) };
}
