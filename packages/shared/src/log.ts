import pino, { type Logger, type LoggerOptions } from 'pino';

export type Component = 'supervisor' | 'orchestrator' | 'proxy' | 'cli';
export type { Logger };

/**
 * One root logger per process. JSON lines on stdout (journald keeps them); pretty when stdout is a
 * terminal. Level from DISPENSER_LOG_LEVEL (default info). Secrets are redacted by key name as a
 * second line of defence; the first is never putting a secret in a log call.
 */
export function createLogger(component: Component, bindings: Record<string, unknown> = {}): Logger {
  const options: LoggerOptions = {
    level: process.env.DISPENSER_LOG_LEVEL ?? 'info',
    base: { component, ...bindings },
    redact: { paths: ['secret', '*.secret', 'password', '*.password', 'token', '*.token', 'keyPem', '*.keyPem', 'authorization', '*.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty = process.stdout.isTTY && process.env.DISPENSER_LOG_FORMAT !== 'json';
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(options);
}

/** A logger for one service: every line carries `service`. */
export function serviceLogger(parent: Logger, service: string): Logger {
  return parent.child({ service });
}
