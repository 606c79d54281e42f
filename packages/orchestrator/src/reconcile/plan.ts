import { DEFAULT_NETWORK } from '@dispenser/shared/defaults';
import { LABELS } from '@dispenser/shared/instance';
import type { DesiredService } from './desired.js';

/** A container as listed by the engine, reduced to what planning needs. */
export interface ObservedContainer {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** of an exited container (known for declared ones) */
  exitCode?: number;
  /** networks it is attached to (known for containers this instance does not manage) */
  networks?: readonly string[];
}

export type Action =
  /** unchanged and in the wanted state: keep it, no restart */
  | { kind: 'adopt'; service: string; containerId: string }
  /** unchanged but not running: start the existing container */
  | { kind: 'start'; service: string; containerId: string }
  | { kind: 'create'; service: string }
  /** configuration changed: replace the container */
  | { kind: 'recreate'; service: string; containerId: string }
  /** a managed container that should not exist (service gone, or stale copy) */
  | { kind: 'remove'; containerId: string; name: string; service: string | undefined; reason: 'undeclared' | 'stale' }
  /**
   * the service's name is free but its container runs under another name (Dispenser stopped in
   * the middle of a rollout, after removing the old container): give it the name back instead of
   * replacing a working container
   */
  | { kind: 'rename'; service: string; containerId: string; from: string; to: string }
  /** the name is taken by a container this instance does not manage: leave it, report the service */
  | { kind: 'conflict'; service: string; containerId: string; name: string }
  /**
   * the name is taken by a container the original Rust Dispenser ran (no labels of ours, on its
   * `dispenser` network): replace it, as the original itself did on every start
   */
  | { kind: 'takeover'; service: string; containerId: string; name: string }
  /** on-trigger service without a container: nothing to do until cron or the watcher fires */
  | { kind: 'await-trigger'; service: string };

export interface PlanInput {
  desired: readonly DesiredService[];
  /** this instance's managed containers plus any container holding a desired name */
  observed: readonly ObservedContainer[];
  instance: string;
  /**
   * startup: stopped containers of `immediately` services are started; reload: too, except a
   * non-proxied one that exited 0 (a job that did its work is not run again by a reload)
   */
  mode: 'startup' | 'reload';
  /**
   * `dispenser dev` loads only some services: the containers of the others are not "removed from
   * the config", so they are left alone instead of being removed as undeclared.
   */
  partial?: boolean;
}

function ownedBy(c: ObservedContainer, instance: string): boolean {
  return c.labels[LABELS.managed] === 'true' && (c.labels[LABELS.instance] ?? 'default') === instance;
}

const activeStates = new Set(['running', 'restarting', 'paused']);

/** Pure: what to do to turn `observed` into `desired`. Removals come first in the result. */
export function plan(input: PlanInput): Action[] {
  const removals: Action[] = [];
  const actions: Action[] = [];
  const byName = new Map(input.observed.map((c) => [c.name, c]));
  const desiredNames = new Set(input.desired.map((d) => d.containerName));
  const declared = new Set(input.desired.map((d) => d.service));

  const rescued = new Set<string>();
  for (const d of input.desired) {
    if (byName.has(d.containerName)) continue;
    const orphan = rescueCandidate(d, input.observed, desiredNames, input.instance);
    if (!orphan) continue;
    rescued.add(orphan.id);
    removals.push({ kind: 'rename', service: d.service, containerId: orphan.id, from: orphan.name, to: d.containerName });
    byName.set(d.containerName, { ...orphan, name: d.containerName });
  }

  for (const c of input.observed) {
    if (!ownedBy(c, input.instance) || desiredNames.has(c.name) || rescued.has(c.id)) continue;
    const service = c.labels[LABELS.service];
    if (input.partial && (service === undefined || !declared.has(service))) continue;
    removals.push({ kind: 'remove', containerId: c.id, name: c.name, service, reason: service !== undefined && declared.has(service) ? 'stale' : 'undeclared' });
  }

  for (const d of input.desired) {
    const c = byName.get(d.containerName);
    if (!c) {
      actions.push(d.initialize === 'immediately' ? { kind: 'create', service: d.service } : { kind: 'await-trigger', service: d.service });
      continue;
    }
    if (!ownedBy(c, input.instance) || c.labels[LABELS.service] !== d.service) {
      actions.push({ kind: leftByOriginal(c) ? 'takeover' : 'conflict', service: d.service, containerId: c.id, name: c.name });
      continue;
    }
    if (c.labels[LABELS.configHash] !== d.hash) {
      if (d.initialize === 'immediately' || activeStates.has(c.state)) actions.push({ kind: 'recreate', service: d.service, containerId: c.id });
      // an on-trigger service that is not running gets its new container on the next trigger
      else removals.push({ kind: 'remove', containerId: c.id, name: c.name, service: d.service, reason: 'stale' });
      continue;
    }
    const startIt = !activeStates.has(c.state) && d.initialize === 'immediately' && (input.mode === 'startup' || !completedJob(d, c));
    actions.push(startIt ? { kind: 'start', service: d.service, containerId: c.id } : { kind: 'adopt', service: d.service, containerId: c.id });
  }
  return [...removals, ...actions];
}

/**
 * The original Dispenser labelled nothing and attached every container to its `dispenser`
 * network. Any label of ours (another instance's container) or another network means the
 * container is someone else's: that stays a conflict.
 */
function leftByOriginal(c: ObservedContainer): boolean {
  return c.labels[LABELS.managed] === undefined && (c.networks ?? []).includes(DEFAULT_NETWORK.name);
}

/** a non-proxied container that ran and exited 0: it did its work */
function completedJob(d: DesiredService, c: ObservedContainer): boolean {
  return !d.proxied && c.state === 'exited' && c.exitCode === 0;
}

/** A running container of `d`'s service under another name; the one with the current config first. */
function rescueCandidate(d: DesiredService, observed: readonly ObservedContainer[], desiredNames: ReadonlySet<string>, instance: string): ObservedContainer | undefined {
  const orphans = observed.filter((c) => ownedBy(c, instance) && c.labels[LABELS.service] === d.service && !desiredNames.has(c.name) && c.state === 'running');
  return orphans.find((c) => c.labels[LABELS.configHash] === d.hash) ?? orphans[0];
}
