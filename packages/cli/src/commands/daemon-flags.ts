import { Flags } from '@oclif/core';
import { DispenserError } from '@dispenser/shared/errors';
import { DEFAULT_CONFIG_HELP, defaultConfigFile } from '../config-path.js';

/** -c as every command takes it. */
export const configFlag = Flags.string({
  char: 'c',
  description: 'path of dispenser.toml; its directory is the base directory of the services',
  default: async () => defaultConfigFile(),
  defaultHelp: async () => DEFAULT_CONFIG_HELP,
});

/** Flags shared by `run` and `dev`. */
export const daemonFlags = {
  config: configFlag,
  'pid-file': Flags.string({
    char: 'p',
    description: 'pid file of the daemon: written at start, removed at exit, read by -s [default: dispenser.pid next to the config]',
  }),
};
