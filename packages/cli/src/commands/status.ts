import { Command, Flags } from '@oclif/core';
import type { Status } from '@dispenser/shared/control/status';
import { controlRequest, reportControlError } from '../control/client.js';
import { renderStatus } from '../control/status-view.js';
import { controlSocketPath } from '../control/socket-path.js';
import { controlFlags } from './control-flags.js';

/** the terminal is cleared before each new status of `--watch` */
const CLEAR = '\x1b[2J\x1b[H';

/** `dispenser status [--json] [--watch]`: what the running daemon runs, and whether all is well. */
export default class StatusCommand extends Command {
  static override summary = 'Show what the running daemon runs: each service, its state, health, image, last deploy, route, next cron run and certificate.';
  static override description = [
    'Asks the running daemon over its control socket (.dispenser/control.sock beside the configuration).',
    'Exit status: 0 when every declared service is running and healthy, 1 when anything is degraded, 2 when no daemon is running.',
  ].join('\n\n');
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json -c /opt/dispenser/dispenser.toml', '<%= config.bin %> status --watch'];
  static override flags = {
    ...controlFlags,
    json: Flags.boolean({ description: 'print the status as JSON (with --watch: one JSON document per line)' }),
    watch: Flags.boolean({ char: 'w', description: 'keep running, printing the status again whenever it changes (Ctrl-C to stop)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(StatusCommand);
    let last: Status | undefined;
    const show = (status: Status): void => {
      last = status;
      if (flags.json) this.log(JSON.stringify(status));
      else {
        const text = renderStatus(status, new Date()).join('\n');
        this.log(flags.watch && process.stdout.isTTY ? CLEAR + text : text);
      }
    };
    const call = controlRequest(controlSocketPath(flags.config), 'status', flags.watch ? { watch: true } : {}, show);
    process.once('SIGINT', () => call.cancel());
    try {
      await call.done;
    } catch (err) {
      this.exit(reportControlError(err));
    }
    this.exit(last && !last.degraded ? 0 : 1);
  }
}
