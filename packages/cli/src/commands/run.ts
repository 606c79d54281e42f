import { Command, Flags } from '@oclif/core';
import { DispenserError } from '@dispenser/shared/errors';
import { checkConfig } from '../check-config.js';
import { signalDaemon, waitForExit } from '../supervisor/control.js';
import { defaultPidFile, runDaemon } from '../supervisor/daemon.js';
import { reportError, toStderr } from '../report-error.js';
import { daemonFlags } from './daemon-flags.js';

const STOP_WAIT_MS = 60_000;

/** `dispenser [-c FILE] [-p PIDFILE]`, `dispenser -t`, `dispenser -s reload|stop`. */
export default class Run extends Command {
  static override summary = 'Run the Dispenser daemon in the foreground (what systemd runs).';
  static override description = [
    'The supervisor forks the orchestrator (containers, image watching, cron, certificates) and the proxy workers. SIGHUP reloads the configuration; SIGTERM or SIGINT stops gracefully. `run` is implied when the first argument is a flag; flags may also come before another command (`dispenser -c FILE dev`).',
    'Other commands: `dispenser dev [-s NAME…]` (development mode; see `dispenser dev --help`), `dispenser help` (all commands).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> -c /opt/dispenser/dispenser.toml',
    '<%= config.bin %> --test',
    '<%= config.bin %> -s reload',
    '<%= config.bin %> -s stop -p /run/dispenser.pid',
  ];
  static override flags = {
    ...daemonFlags,
    test: Flags.boolean({
      char: 't',
      description: 'validate the configuration, print "Dispenser config is ok." and exit (0 only when everything is valid)',
      exclusive: ['signal'],
    }),
    signal: Flags.option({
      char: 's',
      options: ['reload', 'stop'] as const,
      description: 'signal the running daemon through the pid file: reload (re-read the configuration) or stop (graceful shutdown)',
    })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Run);
    if (flags.test) {
      const code = await checkConfig(flags.config, { log: (l) => this.log(l), error: toStderr });
      this.exit(code);
    }
    const pidFile = flags['pid-file'] ?? defaultPidFile(flags.config);
    if (flags.signal) {
      try {
        const pid = signalDaemon(pidFile, flags.signal);
        this.log(`dispenser: sent ${flags.signal} to the daemon (pid ${pid})`);
        if (flags.signal === 'stop') {
          // so that `dispenser -s stop && dispenser …` does not race the old daemon's pid file
          if (!(await waitForExit(pid, STOP_WAIT_MS))) {
            const stuck = new DispenserError('DAEMON_STOP_TIMEOUT', `the daemon (pid ${pid}) is still draining after ${STOP_WAIT_MS / 1000} s; it keeps stopping in the background`, {
              hint: 'wait for it to exit; its log says what it is still finishing',
            });
            this.exit(reportError(stuck, toStderr));
          }
          this.log('dispenser: stopped');
        }
        return;
      } catch (err) {
        this.exit(reportError(err, toStderr));
      }
    }
    let code: number;
    try {
      code = await runDaemon({ configFile: flags.config, pidFile, version: this.config.version });
    } catch (err) {
      code = reportError(err, toStderr);
    }
    // cluster and IPC handles would keep the loop alive; every child has exited by now
    process.exit(code);
  }
}
