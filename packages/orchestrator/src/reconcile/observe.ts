import { ownershipFilter, type InstanceIdentity } from '@dispenser/shared/instance';
import type { ContainerEngine } from '../docker/engine.js';
import type { DesiredService } from './desired.js';
import type { ObservedContainer } from './plan.js';

/** What the planner sees: this instance's managed containers, plus whatever holds a desired container name. */
export async function observe(engine: ContainerEngine, instance: InstanceIdentity, desired: readonly DesiredService[]): Promise<ObservedContainer[]> {
  const list = await engine.listContainers(ownershipFilter(instance).label);
  const names = new Set(list.map((c) => c.name));
  const wanted = new Set(desired.map((d) => d.containerName));
  const observed: ObservedContainer[] = [];
  for (const c of list) {
    // the planner starts a stopped declared container unless it completed its job: it needs the exit code
    const exitCode = wanted.has(c.name) && c.state === 'exited' ? (await engine.inspectContainer(c.id))?.State.ExitCode : undefined;
    observed.push({ id: c.id, name: c.name, labels: c.labels, state: c.state, ...(exitCode !== undefined ? { exitCode } : {}) });
  }
  for (const d of desired) {
    if (names.has(d.containerName)) continue;
    const info = await engine.inspectContainer(d.containerName);
    if (info) observed.push({ id: info.Id, name: d.containerName, labels: info.Config.Labels ?? {}, state: info.State.Status, exitCode: info.State.ExitCode, networks: Object.keys(info.NetworkSettings?.Networks ?? {}) });
  }
  return observed;
}
