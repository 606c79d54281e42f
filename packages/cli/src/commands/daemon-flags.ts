import { Flags } from '@oclif/core';
import { DispenserError } from '@dispenser/shared/errors';
import { CONFIG_FILE } from '@dispenser/shared/defaults';

/** Flags shared by `run` and `dev`. */
export const daemonFlags = {
  config: Flags.string({
    char: 'c',
    description: 'path of dispenser.toml; its directory is the base directory of the services',
    default: CONFIG_FILE,
  }),
  'pid-file': Flags.string({
    char: 'p',
    description: 'pid file of the daemon: written at start, removed at exit, read by -s [default: dispenser.pid next to the config]',
  }),
};
