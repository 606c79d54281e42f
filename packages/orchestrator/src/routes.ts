import type { ServiceConfig } from '@dispenser/shared/config/types';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { ContainerInfo } from './docker/engine.js';

/**
 * Pure: the proxy's route table. Only running containers with an address on the instance
 * network get a route; the proxy answers 502 for the rest by not knowing them.
 */
export function routeTable(services: readonly ServiceConfig[], containers: ReadonlyMap<string, ContainerInfo | undefined>, network: string): Route[] {
  const routes: Route[] = [];
  for (const s of services) {
    if (!s.proxy) continue;
    const info = containers.get(s.name);
    if (!info?.State.Running) continue;
    const ip = info.NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) continue;
    const hsts = s.proxy.hsts;
    routes.push({ service: s.name, host: s.proxy.host.toLowerCase(), path: s.proxy.path, upstream: { host: ip, port: s.proxy.servicePort }, ...(hsts ? { hsts: { maxAgeSeconds: hsts.maxAgeSeconds, includeSubDomains: hsts.includeSubDomains } } : {}) });
  }
  return routes.sort((a, b) => (a.host === b.host ? (a.path < b.path ? -1 : 1) : a.host < b.host ? -1 : 1));
}
