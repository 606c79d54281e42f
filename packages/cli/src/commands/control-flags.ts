import { Flags } from '@oclif/core';
import { CONFIG_FILE } from '@dispenser/shared/defaults';

/** Flags of the commands that talk to a running daemon: its socket is found from the config. */
export const controlFlags = {
  config: Flags.string({
    char: 'c',
    description: 'path of the dispenser.toml the daemon runs with; its control socket is .dispenser/control.sock beside it',
    default: CONFIG_FILE,
  }),
};
