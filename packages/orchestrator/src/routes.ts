import type { ServiceConfig } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { ContainerInfo } from './docker/engine.js';

/**
 * Pure: the proxy's route table. Every declared proxied service has a route, so the proxy can tell
 * "nothing here" (404) from "declared but down" (503). A running container with an address on the
 * instance network gets that address as upstream; a service without one (exited, not created yet,
 * or `containers` has no entry because the engine could not be asked) gets upstream null.
 */
export function routeTable(services: readonly ServiceConfig[], containers: ReadonlyMap<string, ContainerInfo | undefined>, network: string): Route[] {
  const routes: Route[] = [];
  for (const s of services) {
    if (!s.proxy) continue;
    const info = containers.get(s.name);
    const ip = info?.State.Running ? info.NetworkSettings.Networks[network]?.IPAddress : undefined;
    const hsts = s.proxy.hsts;
    routes.push({
      service: s.name,
      host: s.proxy.host.toLowerCase(),
      path: s.proxy.path,
      upstream: ip ? { host: ip, port: s.proxy.servicePort } : null,
      ...(hsts ? { hsts: { maxAgeSeconds: hsts.maxAgeSeconds, includeSubDomains: hsts.includeSubDomains } } : {}),
    });
  }
  return routes.sort((a, b) => (a.host === b.host ? (a.path < b.path ? -1 : 1) : a.host < b.host ? -1 : 1));
}
