import type { DependsOnCondition } from '@dispenser/shared/config/types';
import { DispenserError } from '@dispenser/shared/errors';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerEngine, ContainerInfo } from '../docker/engine.js';
import { backoffDelay, sleep } from '../backoff.js';

export type ConditionState = 'met' | 'pending' | 'failed';

/** Pure: whether a dependency's container satisfies the condition (undefined = no container yet). */
export function conditionState(info: ContainerInfo | undefined, condition: DependsOnCondition): ConditionState {
  if (!info) return 'pending';
  const s = info.State;
  const hasStarted = s.Running || (s.StartedAt !== undefined && !s.StartedAt.startsWith('0001-'));
  switch (condition) {
    case 'started':
      return hasStarted ? 'met' : 'pending';
    case 'completed':
      if (s.Running || !hasStarted) return 'pending';
      return s.ExitCode === 0 ? 'met' : 'failed';
    case 'healthy': {
      const health = (s as { Health?: { Status?: string } }).Health?.Status;
      // a container without a health check counts as healthy once it runs
      if (health === undefined || health === 'none' || health === '') return s.Running ? 'met' : 'pending';
      return health === 'healthy' ? 'met' : 'pending';
    }
  }
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  log: Logger;
}

/**
 * Waits until the dependency's container meets the condition: inspect with backoff (0.2 s up to
 * 2 s), one log line saying what is awaited, an error with a code after the timeout.
 */
export async function awaitCondition(engine: ContainerEngine, dependency: string, containerName: string, condition: DependsOnCondition, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let logged = false;
  for (let attempt = 0; ; attempt++) {
    const state = conditionState(await engine.inspectContainer(containerName), condition);
    if (state === 'met') {
      if (logged) opts.log.info({ dependency, condition }, `dependency ${dependency} is ${condition}`);
      return;
    }
    if (state === 'failed') {
      throw new DispenserError('DEPENDENCY_FAILED', `dependency ${dependency} exited with a non-zero code; condition "${condition}" cannot be met`, {
        hint: `look at the logs of ${dependency}; Dispenser retries after it is fixed`,
      });
    }
    if (!logged) {
      opts.log.info({ dependency, condition }, `waiting for ${dependency} to be ${condition}`);
      logged = true;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new DispenserError('DEPENDENCY_TIMEOUT', `dependency ${dependency} did not become ${condition} within ${Math.round(opts.timeoutMs / 1000)} s`, {
        hint: `check that ${dependency} starts (and has a working health check for "healthy")`,
      });
    }
    if (!(await sleep(Math.min(remaining, backoffDelay(attempt, 200, 2000, 1.5)), opts.signal))) {
      throw new DispenserError('ORCHESTRATOR_STOPPING', 'stopped while waiting for dependencies');
    }
  }
}

/** Pure: services that are part of a depends_on cycle (they could never start). */
export function servicesInCycles(dependsOn: ReadonlyMap<string, readonly string[]>): Set<string> {
  const inCycle = new Set<string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (s: string): void => {
    if (state.get(s) === 'done') return;
    if (state.get(s) === 'visiting') {
      for (const x of stack.slice(stack.indexOf(s))) inCycle.add(x);
      return;
    }
    state.set(s, 'visiting');
    stack.push(s);
    for (const d of dependsOn.get(s) ?? []) if (dependsOn.has(d)) visit(d);
    stack.pop();
    state.set(s, 'done');
  };
  for (const s of dependsOn.keys()) visit(s);
  return inCycle;
}
