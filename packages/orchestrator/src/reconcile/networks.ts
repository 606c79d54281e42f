import type { DispenserConfig, NetworkConfig } from '@dispenser/shared/config/types';
import { DispenserError } from '@dispenser/shared/errors';
import { LABELS, type InstanceIdentity } from '@dispenser/shared/instance';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerEngine, NetworkSpec } from '../docker/engine.js';
import { wrapEngineError } from '../docker/errors.js';

/** Labels on networks Dispenser creates; `down` removes exactly the networks carrying them. */
export function networkLabels(instance: InstanceIdentity, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...extra, [LABELS.managed]: 'true', [LABELS.instance]: instance.name };
}

/** Pure: the create options of the instance's own network. */
export function instanceNetworkSpec(instance: InstanceIdentity, extraLabels: Readonly<Record<string, string>> = {}): NetworkSpec {
  const { name, subnet, gateway } = instance.network;
  return {
    Name: name,
    Driver: 'bridge',
    CheckDuplicate: true,
    Attachable: true,
    Labels: networkLabels(instance, extraLabels),
    ...(subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: subnet, ...(gateway ? { Gateway: gateway } : {}) }] } } : {}),
  };
}

/** Pure: the create options of a declared (non-external) network. */
export function declaredNetworkSpec(n: NetworkConfig, instance: InstanceIdentity, extraLabels: Readonly<Record<string, string>> = {}): NetworkSpec {
  return {
    Name: n.name,
    Driver: n.driver,
    CheckDuplicate: true,
    Internal: n.internal,
    Attachable: n.attachable,
    Labels: { ...n.labels, ...networkLabels(instance, extraLabels) },
  };
}

/**
 * Makes sure the instance network and every declared network exist. Returns the networks that
 * could not be provided, each with its error: services on them fail, the others proceed.
 */
export async function ensureNetworks(
  engine: ContainerEngine,
  config: DispenserConfig,
  instance: InstanceIdentity,
  log: Logger,
  extraLabels: Readonly<Record<string, string>> = {},
): Promise<Map<string, DispenserError>> {
  const failed = new Map<string, DispenserError>();
  const wanted: Array<{ name: string; external: boolean; spec: NetworkSpec }> = [
    { name: instance.network.name, external: false, spec: instanceNetworkSpec(instance, extraLabels) },
    ...config.networks
      .filter((n) => n.name !== instance.network.name)
      .map((n) => ({ name: n.name, external: n.external, spec: declaredNetworkSpec(n, instance, extraLabels) })),
  ];
  for (const w of wanted) {
    try {
      const existing = await engine.inspectNetwork(w.name);
      if (existing) continue;
      if (w.external) {
        failed.set(w.name, new DispenserError('NETWORK_EXTERNAL_MISSING', `network ${w.name} is declared external but does not exist`, {
          hint: `create it (docker network create ${w.name}) or set external = false so Dispenser creates it`,
        }));
        continue;
      }
      await engine.createNetwork(w.spec);
      log.info({ network: w.name }, `created network ${w.name}`);
    } catch (err) {
      const e = wrapEngineError('NETWORK_CREATE_FAILED', `cannot create network ${w.name}`, err);
      if (e.code === 'DOCKER_UNAVAILABLE') throw e;
      failed.set(w.name, e);
    }
  }
  for (const [name, e] of failed) log.error({ network: name, code: e.code, hint: e.hint }, e.message);
  return failed;
}
