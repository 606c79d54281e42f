import { resolve } from 'node:path';
import type { ConfigProblem } from './problem.js';
import type { LoadedMain, LoadedService } from './loaded.js';

export interface Selection {
  services: LoadedService[];
  /** names of every service that loaded, selected or not (a dependency on one is not a typo) */
  allNames: Set<string>;
  problems: ConfigProblem[];
  /** whether problems of the [[service]] entry with this index concern the run */
  keepProblemsOf(index: number): boolean;
}

/**
 * Dev mode (`only`): keep the services matched by service dir path or name. Problems of other
 * services are not reported, unless a requested name matched nothing (it may be the broken one).
 */
export function selectServices(main: LoadedMain, services: readonly LoadedService[], only: readonly string[] | undefined, declaredNames: ReadonlySet<string> = new Set()): Selection {
  const allNames = new Set([...declaredNames, ...services.map((s) => s.value.service.name)]);
  if (!only) return { services: [...services], allNames, problems: [], keepProblemsOf: () => true };
  const entries = main.value.service.map((e) => resolve(main.baseDir, e.path));
  const matchedEntries = new Set<number>();
  const unmatched: string[] = [];
  for (const want of only) {
    const dir = resolve(main.baseDir, want);
    let hit = false;
    entries.forEach((entryDir, index) => {
      if (entryDir === dir) {
        matchedEntries.add(index);
        hit = true;
      }
    });
    for (const s of services) {
      if (s.value.service.name === want) {
        matchedEntries.add(s.index);
        hit = true;
      }
    }
    if (!hit) unmatched.push(want);
  }
  const problems = unmatched.map((want) => main.doc.problem('CONFIG_NO_MATCHING_SERVICE', ['service'], `no service matches "${want}"; expected a service name or a service directory listed in [[service]] path`));
  return {
    services: services.filter((s) => matchedEntries.has(s.index)),
    allNames,
    problems,
    keepProblemsOf: (index) => matchedEntries.has(index) || unmatched.length > 0,
  };
}
