import { dirname, resolve } from 'node:path';
import { CONTROL_SOCKET_NAME, STATE_DIR_NAME } from '@dispenser/shared/defaults';

/** The control socket: in the state directory beside the config (`.dispenser/control.sock`). */
export function controlSocketPath(configFile: string): string {
  return resolve(dirname(resolve(configFile)), STATE_DIR_NAME, CONTROL_SOCKET_NAME);
}
