import { ROUTES_CONFIRM_TIMEOUT_MS } from '@dispenser/shared/defaults';
import { errorMessage } from '@dispenser/shared/errors';
import type { Route } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import type { ProxyPublisher } from './contracts.js';
import type { ContainerEngine, ContainerInfo } from './docker/engine.js';
import { EngineLoss } from './engine-loss.js';
import type { RouteSwitch } from './rollout/steps.js';
import { routeTable } from './routes.js';
import type { Services } from './services.js';

export interface RoutePublisherOptions {
  engine: ContainerEngine;
  services: Services;
  publisher: ProxyPublisher;
  log: Logger;
  /** how long to wait for the proxy to confirm a route table before logging and going on; default 15 s */
  publishTimeoutMs?: number;
  /** aborted when the orchestrator stops: confirmations are no longer waited for */
  signal: AbortSignal;
}

/** A table handed to the proxy, and the proxy's confirmation of it. */
export interface SentRoutes {
  routes: Route[];
  confirmed: Promise<void>;
}

/**
 * Computes the route table from what runs and sends it to the proxy. Owns the rollout overrides
 * (a service in the middle of a rollout is routed to its candidate) and is the RouteSwitch
 * rollouts steer the proxy with.
 */
export class RoutePublisher implements RouteSwitch {
  /** service → candidate container id the proxy routes to while a rollout is under way */
  private readonly overrides = new Map<string, string>();
  /** route tables are computed and sent one at a time, so the proxy gets them in order */
  private readonly sending = new SerialQueue();
  private readonly engineLoss = new EngineLoss();

  constructor(private readonly opts: RoutePublisherOptions) {}

  private get timeoutMs(): number {
    return this.opts.publishTimeoutMs ?? ROUTES_CONFIRM_TIMEOUT_MS;
  }

  /**
   * Computes the route table (running proxied services, overrides applied) and sends it. One at
   * a time: a table computed later never reaches the proxy before one computed earlier. Resolves
   * once sent, with the proxy's confirmation; undefined when nothing was sent.
   */
  send(): Promise<SentRoutes | undefined> {
    const { engine, services, publisher, log } = this.opts;
    return this.sending.run(async (): Promise<SentRoutes | undefined> => {
      const config = services.config;
      if (!config) return undefined;
      const network = services.instance.network.name;
      let routes: Route[];
      try {
        const infos = new Map<string, ContainerInfo | undefined>();
        for (const s of config.services) {
          if (!s.proxy) continue;
          const override = this.overrides.get(s.name);
          infos.set(s.name, override ? await engine.inspectContainer(override) : await services.ownContainer(s.name));
        }
        routes = routeTable(config.services, infos, network);
        this.engineLoss.observed(infos);
      } catch (err) {
        const fallback = this.engineLoss.fallback(err, config.services, network, log);
        if (!fallback) return undefined;
        routes = fallback;
      }
      this.engineLoss.tableSent(routes);
      const confirmed = Promise.resolve().then(() => publisher.publishRoutes(routes));
      confirmed.catch((err: unknown) => log.error({ err: errorMessage(err) }, 'publishing routes failed'));
      return { routes, confirmed };
    });
  }

  /** Sends the route table and waits (bounded) for the proxy's confirmation; the table sent, or [] */
  async publish(): Promise<Route[]> {
    const sent = await this.send();
    if (!sent) return [];
    // a supervisor that never confirms must not stall reconciling: warn and go on
    const confirmed = await this.confirmedInTime(sent.confirmed);
    if (!confirmed && !this.opts.signal.aborted) this.opts.log.warn({ timeoutMs: this.timeoutMs }, 'the proxy has not confirmed the new routes yet');
    return sent.routes;
  }

  /** rollout's route switch: `service` → container `id` (undefined: by name again), confirmed by every worker */
  async routeTo(service: string, id: string | undefined): Promise<boolean> {
    if (id) this.overrides.set(service, id);
    else this.overrides.delete(service);
    const sent = await this.send();
    return sent ? this.confirmedInTime(sent.confirmed) : false;
  }

  /** routes `service` to container `id` from the next table on, without sending one now */
  override(service: string, id: string): void {
    this.overrides.set(service, id);
  }

  /** `service` is routed by container name again from the next table on */
  dropOverride(service: string): void {
    this.overrides.delete(service);
  }

  /** a managed container of this instance started, died or was destroyed (see EngineLoss) */
  containerEvent(service: string | undefined, id: string): void {
    this.engineLoss.containerEvent(service, id);
  }

  /** true once every proxy worker confirmed `confirmed` within the publish timeout */
  private confirmedInTime(confirmed: Promise<void>): Promise<boolean> {
    const signal = this.opts.signal;
    // its own timer, cleared on confirmation: a pending sleep per publish would pile up listeners
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), this.timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      confirmed.then(() => finish(true), () => finish(false));
    });
  }
}
