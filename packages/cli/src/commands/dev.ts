import { Command, Flags } from '@oclif/core';
import { defaultPidFile, runDaemon } from '../supervisor/daemon.js';
import { reportError, toStderr } from '../report-error.js';
import { daemonFlags } from './daemon-flags.js';

/** `dispenser dev -s NAME [-s NAME …]`: the daemon with only some services, self-signed certificates. */
export default class Dev extends Command {
  static override summary = 'Run the daemon in development mode with only the named services.';
  static override description =
    'Services are matched by service directory or by name; depends_on entries that point at services not loaded are dropped, and every proxy host gets a self-signed certificate. Signals and the pid file work as for `dispenser run`.';
  static override examples = ['<%= config.bin %> dev -s web -s api', '<%= config.bin %> dev -c ./dispenser.toml -s services/web'];
  static override flags = {
    ...daemonFlags,
    service: Flags.string({
      char: 's',
      description: 'a service to run (service directory or name); repeat for more',
      required: true,
      multiple: true,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Dev);
    let code: number;
    try {
      code = await runDaemon({ configFile: flags.config, pidFile: flags['pid-file'] ?? defaultPidFile(flags.config), devServices: flags.service });
    } catch (err) {
      code = reportError(err, toStderr);
    }
    process.exit(code);
  }
}
