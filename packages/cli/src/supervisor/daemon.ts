import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { codeOr, DispenserError, errorMessage } from '@dispenser/shared/errors';
import { createLogger, type Logger } from '@dispenser/shared/log';
import { loadEnvFile } from '../env-file.js';
import { childEntries } from './entries.js';
import { forkOrchestrator, forkProxyWorker } from './child-process.js';
import { acquireDaemonLock, lockSupported, type DaemonLock } from './daemon-lock.js';
import { acquirePidFile, releasePidFile } from './pid-file.js';
import { clearChildCapabilities } from './privileges.js';
import { Supervisor } from './supervisor.js';
import { serviceManager } from './systemd.js';
import { takeActivatedSockets } from './socket-activation.js';
import { PID_FILE_NAME } from '@dispenser/shared/defaults';
import { controlSocketPath } from '../control/socket-path.js';
import { ControlServer } from './control-server.js';
import { ledgerPathFor } from './history.js';

export interface DaemonOptions {
  configFile: string;
  pidFile: string | undefined;
  /** `dispenser dev [-s NAME…]`: dev mode with only these services; empty: with every service */
  devServices?: string[];
  /** Dispenser's version, for `dispenser status` */
  version: string;
}


/** The pid file lives next to the config unless -p says otherwise. */
export function defaultPidFile(configFile: string): string {
  return resolve(dirname(resolve(configFile)), PID_FILE_NAME);
}

/**
 * Runs the supervisor in this process until it stops; resolves with the exit code.
 * Throws DispenserError for problems found before anything started.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  process.title = 'dispenser: supervisor';
  const log = createLogger('supervisor');
  const configFile = resolve(options.configFile);
  const pidFile = resolve(options.pidFile ?? defaultPidFile(configFile));
  if (!existsSync(configFile)) {
    throw new DispenserError('CONFIG_NOT_FOUND', `configuration file ${configFile} does not exist`, {
      hint: 'pass the path of dispenser.toml with -c/--config',
    });
  }
  const entries = childEntries();
  // before childEnv is copied from process.env: the LISTEN_* variables go, the sockets stay open
  // here for the daemon's lifetime so that every (re)started worker gets them
  const { sockets } = takeActivatedSockets(log);

  const childEnv: NodeJS.ProcessEnv = { ...process.env, DISPENSER_CONFIG: configFile };
  // the orchestrator's alone: proxy workers face the internet and get no credentials
  const envFile = loadEnvFile(dirname(configFile), childEnv);
  if (envFile) log.info({ envFile: envFile.file, variables: envFile.set, alreadySet: envFile.kept }, `loaded ${envFile.set.length} variables from ${envFile.file}`);
  if (options.devServices) childEnv.DISPENSER_DEV_SERVICES = JSON.stringify(options.devServices);
  else delete childEnv.DISPENSER_DEV_SERVICES;

  // before the first fork: children start without the capabilities the unit gives the daemon
  clearChildCapabilities(log);
  let lock: DaemonLock | undefined;
  const supervisor = new Supervisor({
    log,
    serviceManager: serviceManager(log),
    spawnOrchestrator: () => forkOrchestrator(entries.orchestrator, childEnv, lock?.fd),
    spawnProxyWorker: (index) => forkProxyWorker(entries.proxyWorker, index, lock?.fd, sockets),
    activatedSockets: sockets,
  });
  // handlers first: `-s reload` right after the pid file appears must not hit SIGHUP's default (exit)
  installSignals(supervisor, log);
  // The pid file first: a live supervisor is reported as PID_FILE_IN_USE, as before. The lock then
  // also catches what the pid file cannot: children of a killed supervisor still at work, and a
  // second daemon on the same config directory with another -p.
  acquirePidFile(pidFile);
  try {
    lock = lockSupported() ? await acquireDaemonLock(dirname(configFile)) : undefined;
  } catch (err) {
    releasePidFile(pidFile);
    throw err;
  }
  process.on('exit', () => releasePidFile(pidFile));
  log.info({ supervisorPid: process.pid, config: configFile, pidFile, devServices: options.devServices }, 'dispenser supervisor starting');
  // after the lock: whatever socket file is there now belongs to a daemon that is gone
  const socketPath = controlSocketPath(configFile);
  const control = new ControlServer({ path: socketPath, backend: supervisor.controlBackend(options.version, ledgerPathFor(socketPath)), log });
  try {
    await control.listen();
    process.on('exit', () => control.close());
  } catch (err) {
    // the daemon's work does not depend on it: run on, unobservable from the CLI, and say so
    log.error({ code: codeOr(err, 'CONTROL_SOCKET_FAILED') }, errorMessage(err));
  }
  supervisor.start();
  const code = await supervisor.finished;
  control.close();
  lock?.release();
  releasePidFile(pidFile);
  return code;
}

function installSignals(supervisor: Supervisor, log: Logger): void {
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reload requested');
    supervisor.reload();
  });
  let stops = 0;
  const stop = (signal: NodeJS.Signals) => () => {
    stops += 1;
    if (stops > 1) log.warn({ signal }, 'already stopping; waiting for children to drain');
    else log.info({ signal }, 'stop requested');
    void supervisor.stop(0);
  };
  process.on('SIGTERM', stop('SIGTERM'));
  process.on('SIGINT', stop('SIGINT'));
}
