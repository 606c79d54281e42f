import { Command, Flags } from '@oclif/core';
import { checkConfig } from '../check-config.js';
import { defaultPidFile, runDaemon } from '../supervisor/daemon.js';
import { reportError, toStderr } from '../report-error.js';
import { daemonFlags } from './daemon-flags.js';

/** `dispenser dev [-s NAME …]`: the daemon with all or some services, self-signed certificates. */
export default class Dev extends Command {
  static override summary = 'Run the daemon in development mode, with every service or only the named ones.';
  static override description =
    'Without -s every service runs. Services are matched by service directory or by name; depends_on entries that point at services not loaded are dropped, and every proxy host gets a self-signed certificate. With -t only the selected services are validated. Signals and the pid file work as for `dispenser run`.';
  static override examples = [
    '<%= config.bin %> dev',
    '<%= config.bin %> dev -s web -s api',
    '<%= config.bin %> -c ./dispenser.toml dev -s services/web',
    '<%= config.bin %> -t dev -s web',
  ];
  static override flags = {
    ...daemonFlags,
    service: Flags.string({
      char: 's',
      description: 'a service to run (service directory or name); repeat for more [default: every service]',
      multiple: true,
    }),
    test: Flags.boolean({
      char: 't',
      description: 'validate the configuration of the selected services, print "Dispenser config is ok." and exit',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Dev);
    if (flags.test) {
      this.exit(await checkConfig(flags.config, { log: (l) => this.log(l), error: toStderr }, flags.service));
    }
    let code: number;
    try {
      // an empty selection is dev mode with every service
      code = await runDaemon({ configFile: flags.config, pidFile: flags['pid-file'] ?? defaultPidFile(flags.config), devServices: flags.service ?? [], version: this.config.version });
    } catch (err) {
      code = reportError(err, toStderr);
    }
    process.exit(code);
  }
}
