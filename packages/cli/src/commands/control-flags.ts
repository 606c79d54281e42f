import { Flags } from '@oclif/core';
import { DEFAULT_CONFIG_HELP, defaultConfigFile } from '../config-path.js';

/** Flags of the commands that talk to a running daemon: its socket is found from the config, as -s finds the pid file. */
export const controlFlags = {
  config: Flags.string({
    char: 'c',
    description: 'path of the dispenser.toml the daemon runs with; its control socket is .dispenser/control.sock beside it',
    default: async () => defaultConfigFile(),
    defaultHelp: async () => DEFAULT_CONFIG_HELP,
  }),
};
