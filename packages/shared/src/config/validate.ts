import type { ConfigProblem } from './problem.js';
import type { LoadedMain, LoadedService } from './loaded.js';
import { CONTAINER_NAME } from './schema.js';
import { closest } from './suggest.js';
import { DEFAULT_NETWORK } from '../defaults.js';

/**
 * Rules that span files: unique names, host ports, declared networks, dependencies, proxy routes.
 * Pure: takes the schema-valid files, returns every problem found.
 */
export function validateAcrossFiles(main: LoadedMain, services: readonly LoadedService[], allNames: ReadonlySet<string>): ConfigProblem[] {
  return [
    ...uniqueNames(services),
    ...hostPorts(main, services),
    ...networks(main, services),
    ...dependencies(services, allNames),
    ...routes(services),
    ...perService(services, main.value.proxy.enabled),
  ];
}

function uniqueNames(services: readonly LoadedService[]): ConfigProblem[] {
  const seen = new Map<string, LoadedService>();
  const out: ConfigProblem[] = [];
  for (const s of services) {
    const name = s.value.service.name;
    const first = seen.get(name);
    if (first && first.dir !== s.dir) out.push(s.doc.problem('CONFIG_DUPLICATE_SERVICE', ['service', 'name'], `service name "${name}" is already used by ${first.file}; service names must be unique (they are container names)`, 'value'));
    else if (!first) seen.set(name, s);
  }
  return out;
}

function hostPorts(main: LoadedMain, services: readonly LoadedService[]): ConfigProblem[] {
  const owners = new Map<number, string>();
  const proxy = main.value.proxy;
  if (proxy.enabled) {
    owners.set(proxy.http_port, `the proxy's http_port in ${main.file}`);
    if (proxy.strategy !== 'http-only') {
      if (proxy.https_port === proxy.http_port) {
        return [main.doc.problem('CONFIG_PORT_CLASH', ['proxy', 'https_port'], `https_port ${proxy.https_port} is the same as http_port; expected two different ports`, 'value')];
      }
      owners.set(proxy.https_port, `the proxy's https_port in ${main.file}`);
    }
  }
  const out: ConfigProblem[] = [];
  const metrics = main.value.metrics?.listen;
  if (metrics) {
    // the proxy binds one address for both ports; a wildcard on either side overlaps every address
    const overlaps = proxy.enabled && (proxy.bind === metrics.host || isWildcard(proxy.bind) || isWildcard(metrics.host));
    const owner = overlaps ? owners.get(metrics.port) : undefined;
    if (owner) out.push(main.doc.problem('CONFIG_PORT_CLASH', ['metrics', 'listen'], `metrics port ${metrics.port} is already used by ${owner}; choose another port`, 'value'));
    else owners.set(metrics.port, `the metrics listener in ${main.file}`);
  }
  for (const s of services) {
    s.value.port.forEach((p, i) => {
      const owner = owners.get(p.host);
      if (owner) out.push(s.doc.problem('CONFIG_PORT_CLASH', ['port', i, 'host'], `host port ${p.host} is already used by ${owner}; choose another host port`, 'value'));
      else owners.set(p.host, `service "${s.value.service.name}" (${s.file})`);
    });
  }
  return out;
}

function networks(main: LoadedMain, services: readonly LoadedService[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const declared = new Set<string>();
  main.value.network.forEach((n, i) => {
    if (n.name === DEFAULT_NETWORK.name) out.push(main.doc.problem('CONFIG_DUPLICATE_NETWORK', ['network', i, 'name'], `network name "${n.name}" is reserved for the default network every service joins; choose another name`, 'value'));
    else if (declared.has(n.name)) out.push(main.doc.problem('CONFIG_DUPLICATE_NETWORK', ['network', i, 'name'], `network "${n.name}" is declared twice; declare each [[network]] once`, 'value'));
    declared.add(n.name);
  });
  for (const s of services) {
    s.value.network.forEach((n, i) => {
      if (declared.has(n.name) || n.name === DEFAULT_NETWORK.name) return;
      const guess = closest(n.name, [...declared]);
      const hint = guess ? `did you mean "${guess}"?` : declared.size ? `declared networks: ${[...declared].join(', ')}` : 'declare it with a [[network]] table in dispenser.toml';
      out.push(s.doc.problem('CONFIG_UNKNOWN_NETWORK', ['network', i, 'name'], `network "${n.name}" is not declared in ${main.file}; ${hint}`, 'value'));
    });
  }
  return out;
}

function dependencies(services: readonly LoadedService[], allNames: ReadonlySet<string>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const byName = new Map(services.map((s) => [s.value.service.name, s]));
  const names = [...allNames];
  for (const s of services) {
    for (const target of Object.keys(s.value.depends_on)) {
      if (target === s.value.service.name) out.push(s.doc.problem('CONFIG_DEPENDENCY_CYCLE', ['depends_on', target], `service "${target}" depends on itself; remove this entry`));
      else if (!allNames.has(target)) {
        const guess = closest(target, names);
        out.push(s.doc.problem('CONFIG_UNKNOWN_DEPENDENCY', ['depends_on', target], `depends_on names "${target}", which is not a service; ${guess ? `did you mean "${guess}"?` : `expected one of: ${names.join(', ')}`}`));
      }
    }
  }
  // cycles through more than one service: depth-first search, each cycle reported once
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    const s = byName.get(name);
    for (const target of Object.keys(s?.value.depends_on ?? {})) {
      if (target === name || !byName.has(target)) continue;
      if (state.get(target) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(target)), target];
        out.push(s!.doc.problem('CONFIG_DEPENDENCY_CYCLE', ['depends_on', target], `depends_on forms a cycle: ${cycle.join(' → ')}; remove one of these dependencies`));
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of byName.keys()) if (!state.has(name)) visit(name);
  return out;
}

function routes(services: readonly LoadedService[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Map<string, LoadedService>();
  for (const s of services) {
    const p = s.value.proxy;
    if (!p) continue;
    const key = `${p.host.toLowerCase()} ${p.path}`;
    const first = seen.get(key);
    if (first) out.push(s.doc.problem('CONFIG_ROUTE_CLASH', ['proxy', 'host'], `host "${p.host}" with path "${p.path}" is already served by service "${first.value.service.name}" (${first.file}); give one of them another host or path`, 'value'));
    else seen.set(key, s);
  }
  return out;
}

function perService(services: readonly LoadedService[], proxyEnabled: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const s of services) {
    const v = s.value;
    const targets = new Map<string, number>();
    v.volume.forEach((vol, i) => {
      const pathLike = vol.source.includes('/') || vol.source.startsWith('.');
      if (!pathLike && !CONTAINER_NAME.test(vol.source)) {
        out.push(s.doc.problem('CONFIG_INVALID_VALUE', ['volume', i, 'source'], `volume source "${vol.source}" is neither a path nor a valid volume name; expected a path like "./data" or "/srv/data", or a name of letters, digits, "_", "." and "-"`, 'value'));
      }
      if (targets.has(vol.target)) out.push(s.doc.problem('CONFIG_INVALID_VALUE', ['volume', i, 'target'], `volume target "${vol.target}" is already mounted by volume[${targets.get(vol.target)}]; each target may be mounted once`, 'value'));
      else targets.set(vol.target, i);
    });
    const p = v.proxy;
    if (p && (p.cert_file === undefined) !== (p.key_file === undefined)) {
      const missing = p.cert_file === undefined ? 'cert_file' : 'key_file';
      out.push(s.doc.problem('CONFIG_MISSING_KEY', ['proxy', p.cert_file === undefined ? 'key_file' : 'cert_file'], `[proxy] has ${missing === 'cert_file' ? 'key_file' : 'cert_file'} but no ${missing}; give both (PEM files) or neither (ACME)`));
    }
    if (v.dispenser.strategy === 'rollout') {
      if (!p) out.push(s.doc.problem('CONFIG_INVALID_VALUE', ['dispenser', 'strategy'], 'strategy = "rollout" needs a [proxy] section (traffic is switched to the new container by the proxy); expected "recreate" for a service without [proxy]', 'value'));
      else if (!proxyEnabled) out.push(s.doc.problem('CONFIG_INVALID_VALUE', ['dispenser', 'strategy'], 'strategy = "rollout" needs the proxy, and [proxy] enabled = false in dispenser.toml; expected "recreate"', 'value'));
      else if (v.port.length > 0) out.push(s.doc.problem('CONFIG_INVALID_VALUE', ['dispenser', 'strategy'], 'strategy = "rollout" runs the old and new container side by side, which cannot both publish the same [[port]] host ports; expected "recreate", or remove the [[port]] tables', 'value'));
    }
  }
  return out;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
