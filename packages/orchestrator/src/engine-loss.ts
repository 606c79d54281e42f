import type { ServiceConfig } from '@dispenser/shared/config/types';
import { errorMessage } from '@dispenser/shared/errors';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import type { ContainerInfo } from './docker/engine.js';
import { routeTable } from './routes.js';

/**
 * What the route table can say while the engine does not answer. It remembers the last table
 * sent and which container each route pointed to; a container event for one of those (it died)
 * marks its service, so that when the engine then cannot be asked (it is stopping and took the
 * container with it) that route answers 503 at once instead of 502 until the engine is back.
 */
export class EngineLoss {
  /** whether this process has sent a route table yet */
  private sent = false;
  private last: Route[] | undefined;
  /** service → the running container its route pointed to in the last table */
  private readonly routed = new Map<string, string>();
  /** services whose routed container died since the last table */
  private readonly dead = new Set<string>();

  /** the engine answered for every proxied service: this is what the routes point to now */
  observed(containers: ReadonlyMap<string, ContainerInfo | undefined>): void {
    this.routed.clear();
    for (const [service, info] of containers) if (info?.State.Running) this.routed.set(service, info.Id);
    this.dead.clear();
  }

  /** a managed container of this instance started, died or was destroyed */
  containerEvent(service: string | undefined, id: string): void {
    if (service && this.routed.get(service) === id) this.dead.add(service);
  }

  tableSent(routes: Route[]): void {
    this.sent = true;
    this.last = routes;
  }

  /** the table to send when the engine could not be asked; undefined: the proxy keeps the previous one */
  fallback(err: unknown, services: readonly ServiceConfig[], network: string, log: Logger): Route[] | undefined {
    if (this.sent && this.last && this.dead.size) {
      // The engine is going away (or gone) and took containers with it: their routes answer
      // 503 now, not 502 until it is back; the others keep what they had.
      log.error({ err: errorMessage(err), services: [...this.dead] }, 'cannot ask the Docker engine which containers run; the services whose container died answer 503 until it can');
      const dead = this.dead;
      return this.last.map((r) => (dead.has(r.service) ? { ...r, upstream: null } : r));
    }
    if (this.sent) {
      log.error({ err: errorMessage(err) }, 'cannot compute the route table; the proxy keeps the previous one');
      return undefined;
    }
    // Nothing sent yet (Dispenser starts while the engine is down): the declared routes without
    // upstreams, so their hosts answer 503 rather than 404 until the engine is back.
    log.error({ err: errorMessage(err) }, 'cannot ask the Docker engine which containers run; the proxy answers 503 for every declared route until it can');
    return routeTable(services, new Map(), network);
  }
}
