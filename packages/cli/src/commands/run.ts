import { Command, Flags } from '@oclif/core';
import { runConfigTest } from '../config-test.js';

/** `dispenser [-c FILE] [-p PIDFILE]`, `dispenser -t`, `dispenser -s reload|stop`. */
export default class Run extends Command {
  static override description = 'Run the Dispenser daemon in the foreground (what systemd runs).';
  static override flags = {
    config: Flags.string({ char: 'c', description: 'path of dispenser.toml; its directory is the base dir', default: '/opt/dispenser/dispenser.toml' }),
    'pid-file': Flags.string({ char: 'p', description: 'pid file of the running daemon', default: '/opt/dispenser/dispenser.pid' }),
    test: Flags.boolean({ char: 't', description: 'validate the configuration, print "Dispenser config is ok." and exit' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Run);
    if (flags.test) {
      const code = await runConfigTest(flags.config, { log: (l) => this.log(l), error: (l) => process.stderr.write(l + '\n') });
      this.exit(code);
    }
    this.error('the daemon is not implemented yet', { exit: 2 });
  }
}
