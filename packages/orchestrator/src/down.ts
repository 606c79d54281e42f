import { LABELS, ownershipFilter, type InstanceIdentity } from '@dispenser/shared/instance';
import type { DispenserError } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerEngine } from './docker/engine.js';
import { wrapEngineError } from './docker/errors.js';
import { CONTAINER_STOP_TIMEOUT_S } from '@dispenser/shared/defaults';

export interface DownResult {
  /** container names removed */
  containers: string[];
  /** network names removed */
  networks: string[];
  /** what could not be removed, with why and what to do */
  failures: DispenserError[];
}

/**
 * `dispenser down`: stops and removes every container this instance manages and every network it
 * created (recognized by its labels; external and pre-existing networks carry none and stay).
 */
export async function down(engine: ContainerEngine, instance: InstanceIdentity, opts: { log?: Logger; stopTimeoutS?: number } = {}): Promise<DownResult> {
  const log = opts.log;
  const result: DownResult = { containers: [], networks: [], failures: [] };
  const filter = ownershipFilter(instance).label;
  const containers = await engine.listContainers(filter);
  await Promise.all(
    containers.map(async (c) => {
      try {
        await engine.stopContainer(c.id, opts.stopTimeoutS ?? CONTAINER_STOP_TIMEOUT_S);
        await engine.removeContainer(c.id);
        result.containers.push(c.name);
        log?.info({ service: c.labels[LABELS.service], container: c.name }, `removed container ${c.name}`);
      } catch (err) {
        const e = wrapEngineError('CONTAINER_REMOVE_FAILED', `cannot remove container ${c.name}`, err, 'see `docker ps -a`, then run `dispenser down` again');
        if (e.code === 'DOCKER_UNAVAILABLE') throw e;
        result.failures.push(e);
      }
    }),
  );
  for (const n of await engine.listNetworks(filter)) {
    try {
      await engine.removeNetwork(n.id);
      result.networks.push(n.name);
      log?.info({ network: n.name }, `removed network ${n.name}`);
    } catch (err) {
      const e = wrapEngineError('NETWORK_REMOVE_FAILED', `cannot remove network ${n.name} (still used by a container Dispenser does not manage?)`, err, `disconnect the containers that still use it (docker network inspect ${n.name}), then run \`dispenser down\` again`);
      if (e.code === 'DOCKER_UNAVAILABLE') throw e;
      result.failures.push(e);
    }
  }
  result.containers.sort();
  result.networks.sort();
  return result;
}
