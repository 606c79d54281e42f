import { Args, Command, Flags } from '@oclif/core';
import { controlRequest, reportControlError } from '../control/client.js';
import { parseSince } from '../control/since.js';
import { controlSocketPath } from '../control/socket-path.js';
import { controlFlags } from './control-flags.js';

/** `dispenser logs SERVICE [-f] [-n N] [--since T]`: a service's container output, through the daemon. */
export default class Logs extends Command {
  static override summary = "Print a service's container output (stdout to stdout, stderr to stderr), with the configuration's secrets redacted.";
  static override description = [
    'Read through the running daemon, so it works for members of the dispenser group without access to the Docker socket.',
    'Exit status: 0 when the output ended (or Ctrl-C with -f), 1 on an error (unknown service, no container), 2 when no daemon is running.',
  ].join('\n\n');
  static override examples = ['<%= config.bin %> logs web', '<%= config.bin %> logs web -f -n 100', '<%= config.bin %> logs worker --since 1h'];
  static override args = {
    service: Args.string({ description: 'name of the service', required: true }),
  };
  static override flags = {
    ...controlFlags,
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until Ctrl-C' }),
    lines: Flags.integer({ char: 'n', min: 0, description: 'only the last N lines' }),
    since: Flags.string({ description: 'only output since then: a duration back from now (10m, 2h, 1d) or a date (2026-12-05, 2026-12-05T10:00:00Z)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const since = flags.since === undefined ? undefined : parseSince(flags.since, new Date());
    if (flags.since !== undefined && since === undefined) this.error(`--since ${flags.since}: expected a duration (10m, 2h, 1d) or a date (2026-12-05T10:00:00Z)`, { exit: 2 });
    const params = {
      service: args.service,
      ...(flags.follow ? { follow: true } : {}),
      ...(flags.lines !== undefined ? { tail: flags.lines } : {}),
      ...(since !== undefined ? { since } : {}),
    };
    const call = controlRequest(controlSocketPath(flags.config), 'logs', params, (chunk) => {
      (chunk.stream === 'stderr' ? process.stderr : process.stdout).write(chunk.text);
    });
    process.once('SIGINT', () => call.cancel());
    try {
      await call.done;
    } catch (err) {
      this.exit(reportControlError(err));
    }
  }
}
