import { Command, Flags } from '@oclif/core';
import { DockerodeEngine } from '@dispenser/orchestrator/docker/dockerode-engine';
import { down, type DownResult } from '@dispenser/orchestrator/down';
import { wrapEngineError } from '@dispenser/orchestrator/docker/errors';
import { instanceFromEnv } from '@dispenser/shared/instance';
import { CONFIG_FILE } from '@dispenser/shared/defaults';
import { DispenserError } from '@dispenser/shared/errors';
import { reportError, toStderr } from '../report-error.js';

const DOCKER_DOWN_HINT = 'is dockerd running, and may this user use its socket (docker group)? Then run `dispenser down` again';

/** `dispenser down`: remove every container Dispenser manages and the networks it created. */
export default class Down extends Command {
  static override description =
    'Stop and remove every container Dispenser manages and the networks it created (found by their labels; DISPENSER_INSTANCE selects a non-default instance).';
  static override flags = {
    // Ownership is read from labels, so the config is not needed; -c is accepted so the same
    // command line as `dispenser -c …` works.
    config: Flags.string({ char: 'c', description: 'path of dispenser.toml (not needed: ownership is read from container labels)', default: CONFIG_FILE }),
  };

  async run(): Promise<void> {
    await this.parse(Down);
    const instance = instanceFromEnv();
    let result: DownResult;
    try {
      result = await down(new DockerodeEngine(), instance);
    } catch (err) {
      const e = wrapEngineError('DOCKER_ERROR', 'cannot list what Dispenser manages', err);
      // the engine's hint is written for the daemon, which retries on its own; this command does not
      const told = e.code === 'DOCKER_UNAVAILABLE' ? new DispenserError(e.code, e.message, { cause: e.cause, hint: DOCKER_DOWN_HINT }) : e;
      this.exit(reportError(told, toStderr));
    }
    for (const c of result.containers) this.log(`removed container ${c}`);
    for (const n of result.networks) this.log(`removed network ${n}`);
    if (result.containers.length === 0 && result.networks.length === 0 && result.failures.length === 0) this.log('nothing to remove');
    for (const f of result.failures) reportError(f, toStderr);
    if (result.failures.length > 0) this.exit(1);
  }
}
