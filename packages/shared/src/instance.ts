import { DEFAULT_NETWORK } from './defaults.js';

/**
 * Which Dispenser owns a container. One VM normally runs one instance ("default"); a second one
 * (a `dispenser dev` beside production, or a test run on a shared engine) sets DISPENSER_INSTANCE
 * so that reconcile and `down` never touch the other's containers or network.
 */
export const LABELS = Object.freeze({
  managed: 'dispenser.managed',
  service: 'dispenser.service',
  configHash: 'dispenser.config-hash',
  instance: 'dispenser.instance',
});

export interface InstanceIdentity {
  name: string;
  network: { name: string; subnet?: string; gateway?: string };
}

export function instanceFromEnv(env: NodeJS.ProcessEnv = process.env): InstanceIdentity {
  const name = env.DISPENSER_INSTANCE?.trim() || 'default';
  if (name === 'default') return { name, network: { ...DEFAULT_NETWORK } };
  // Another instance cannot reuse 172.28.0.0/16 (Docker refuses overlapping subnets): let the
  // engine pick one from its address pools.
  return { name, network: { name: `dispenser-${name}` } };
}

/** Labels every container of this instance carries, plus the per-service ones. */
export function ownershipLabels(instance: InstanceIdentity, service: string, configHash: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.instance]: instance.name,
    [LABELS.service]: service,
    [LABELS.configHash]: configHash,
  };
}

/** Docker list filter selecting this instance's managed objects. */
export function ownershipFilter(instance: InstanceIdentity): { label: string[] } {
  return { label: [`${LABELS.managed}=true`, `${LABELS.instance}=${instance.name}`] };
}
