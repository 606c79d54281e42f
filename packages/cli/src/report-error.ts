import { DispenserError } from '@dispenser/shared/errors';

/**
 * How every command prints an error a person has to act on: what went wrong with its code (the
 * key into docs/reference/errors.md), then what to do.
 *
 *   dispenser: configuration file /etc/x.toml does not exist [CONFIG_NOT_FOUND]
 *     pass the path of dispenser.toml with -c/--config
 */
export function formatError(err: DispenserError): string[] {
  const lines = [`dispenser: ${err.message} [${err.code}]`];
  if (err.hint) lines.push(`  ${err.hint}`);
  return lines;
}

/** One line on stderr; what commands hand to reportError. */
export const toStderr = (line: string): void => void process.stderr.write(line + '\n');

/** Prints a DispenserError and returns the exit code 1; anything else is a bug, rethrown for oclif. */
export function reportError(err: unknown, print: (line: string) => void): number {
  if (!(err instanceof DispenserError)) throw err;
  for (const line of formatError(err)) print(line);
  return 1;
}
