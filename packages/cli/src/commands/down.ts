import { Command, Flags } from '@oclif/core';
import { DockerodeEngine } from '@dispenser/orchestrator/docker/dockerode-engine';
import { down } from '@dispenser/orchestrator/down';
import { errorMessage } from '@dispenser/shared/errors';
import { instanceFromEnv } from '@dispenser/shared/instance';

/** `dispenser down`: remove every container Dispenser manages and the networks it created. */
export default class Down extends Command {
  static override description =
    'Stop and remove every container Dispenser manages and the networks it created (found by their labels; DISPENSER_INSTANCE selects a non-default instance).';
  static override flags = {
    // Ownership is read from labels, so the config is not needed; -c is accepted so the same
    // command line as `dispenser -c …` works.
    config: Flags.string({ char: 'c', description: 'path of dispenser.toml (not needed: ownership is read from container labels)' }),
  };

  async run(): Promise<void> {
    await this.parse(Down);
    const instance = instanceFromEnv();
    try {
      const result = await down(new DockerodeEngine(), instance);
      for (const c of result.containers) this.log(`removed container ${c}`);
      for (const n of result.networks) this.log(`removed network ${n}`);
      if (result.containers.length === 0 && result.networks.length === 0) this.log('nothing to remove');
      for (const f of result.failures) process.stderr.write(`error: ${f}\n`);
      if (result.failures.length > 0) this.exit(1);
    } catch (err) {
      this.error(errorMessage(err), { exit: 1 });
    }
  }
}
