import { Args, Command, Flags } from '@oclif/core';
import type { History } from '@dispenser/shared/control/protocol';
import { HISTORY_DEFAULT_LIMIT, renderHistory } from '@dispenser/shared/ledger/history';
import { controlRequest, reportControlError } from '../control/client.js';
import { controlSocketPath } from '../control/socket-path.js';
import { controlFlags } from './control-flags.js';

/** `dispenser history [SERVICE] [--json] [-n N]`: the deploy ledger, newest first. */
export default class HistoryCommand extends Command {
  static override summary = 'Show the deploys and cron job runs of the running daemon, newest first: time, service, trigger, digest change, result, duration and exit code.';
  static override description = [
    'Read from the deploy ledger (.dispenser/ledger.jsonl) through the running daemon, so it covers earlier runs of the daemon too.',
    'Exit status: 0 when the history was printed, 1 on an error, 2 when no daemon is running.',
  ].join('\n\n');
  static override examples = ['<%= config.bin %> history', '<%= config.bin %> history web -n 5', '<%= config.bin %> history --json'];
  static override args = {
    service: Args.string({ description: 'only this service' }),
  };
  static override flags = {
    ...controlFlags,
    json: Flags.boolean({ description: 'print the entries as JSON' }),
    lines: Flags.integer({ char: 'n', min: 1, description: `at most N entries (default ${HISTORY_DEFAULT_LIMIT})` }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(HistoryCommand);
    const params = { ...(args.service !== undefined ? { service: args.service } : {}), ...(flags.lines !== undefined ? { limit: flags.lines } : {}) };
    let history: History | undefined;
    const call = controlRequest(controlSocketPath(flags.config), 'history', params, (h) => (history = h));
    try {
      await call.done;
    } catch (err) {
      this.exit(reportControlError(err));
    }
    if (!history) return;
    if (flags.json) {
      this.log(JSON.stringify(history));
      return;
    }
    for (const line of renderHistory(history.entries)) this.log(line);
    if (history.skipped > 0) this.warn(`${history.skipped} unreadable line(s) of the ledger were skipped (a write cut short by a crash)`);
  }
}
