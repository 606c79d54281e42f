import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  service?: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines land in an array, so tests assert on what an operator would read. */
export function captureLog(): { log: Logger; lines: LogLine[]; find(re: RegExp, service?: string): LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug', base: { component: 'orchestrator' } }, {
    write(s: string) {
      lines.push(JSON.parse(s) as LogLine);
      if (process.env.CD_TEST_VERBOSE) process.stderr.write(s);
    },
  });
  return { log, lines, find: (re, service) => lines.filter((l) => re.test(l.msg) && (service === undefined || l.service === service)) };
}
