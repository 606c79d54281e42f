import type { ContainerEngine } from './engine.js';

/** How long a stop Dispenser asked for explains a container's exit; a `docker stop` takes seconds. */
const REMEMBER_MS = 10 * 60_000;

/**
 * Containers Dispenser itself stopped or removed (replace, rollout, removal). Their `die` event is
 * Dispenser's doing, not a crash, and must not be reported as one.
 */
export class IntendedStops {
  private readonly ids = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  mark(id: string): void {
    const now = this.now();
    for (const [k, at] of this.ids) if (now - at > REMEMBER_MS) this.ids.delete(k);
    this.ids.set(id, now);
  }

  /** true when `id` (a full ID; Dispenser may have used a prefix) was stopped by Dispenser recently */
  intended(id: string): boolean {
    const now = this.now();
    for (const [k, at] of this.ids) if (now - at <= REMEMBER_MS && (id === k || id.startsWith(k))) return true;
    return false;
  }
}

/**
 * `engine`, with every stop and removal recorded in `stops` before it is sent to Docker. Plain
 * delegation (no Proxy): test engines are frozen objects, and a class keeps its own state.
 */
export function recordingStops(engine: ContainerEngine, stops: IntendedStops): ContainerEngine {
  return {
    apiVersion: () => engine.apiVersion(),
    listContainers: (labels) => engine.listContainers(labels),
    inspectContainer: (idOrName) => engine.inspectContainer(idOrName),
    createContainer: (spec) => engine.createContainer(spec),
    connectNetwork: (network, container, aliases) => engine.connectNetwork(network, container, aliases),
    startContainer: (id) => engine.startContainer(id),
    stopContainer: (id, timeoutS) => {
      stops.mark(id);
      return engine.stopContainer(id, timeoutS);
    },
    removeContainer: (id) => {
      stops.mark(id);
      return engine.removeContainer(id);
    },
    renameContainer: (id, name) => engine.renameContainer(id, name),
    setRestartPolicy: (id, policy) => engine.setRestartPolicy(id, policy),
    waitContainer: (id) => engine.waitContainer(id),
    containerLogs: (id, tail) => engine.containerLogs(id, tail),
    streamLogs: (id, options, onData, signal) => engine.streamLogs(id, options, onData, signal),
    inspectImage: (ref) => engine.inspectImage(ref),
    pullImage: (ref, auth, onEvent) => engine.pullImage(ref, auth, onEvent),
    inspectNetwork: (name) => engine.inspectNetwork(name),
    createNetwork: (spec) => engine.createNetwork(spec),
    listNetworks: (labels) => engine.listNetworks(labels),
    removeNetwork: (idOrName) => engine.removeNetwork(idOrName),
    subscribe: (onEvent, onEnd) => engine.subscribe(onEvent, onEnd),
  };
}
