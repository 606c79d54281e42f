import { Agent } from 'node:http';

/**
 * One keep-alive agent per upstream (`host:port`). Agents of upstreams that left the route table
 * are retired: no new requests go to them, and they are destroyed once their last in-flight
 * request has finished, so a route swap never cuts a request short.
 */
export class UpstreamPool {
  private readonly agents = new Map<string, Agent>();
  private readonly retired = new Set<Agent>();
  private sweepTimer: NodeJS.Timeout | undefined;

  agentFor(key: string): Agent {
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: Infinity, maxFreeSockets: 1024, scheduling: 'lifo' });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Called with the upstream keys of a newly installed route table. */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const [key, agent] of this.agents) {
      if (keys.has(key)) continue;
      this.agents.delete(key);
      this.retired.add(agent);
    }
    this.sweep();
    if (this.retired.size && !this.sweepTimer) {
      this.sweepTimer = setInterval(() => this.sweep(), 1000);
      this.sweepTimer.unref();
    }
  }

  private sweep(): void {
    for (const agent of this.retired) {
      const busy = Object.values(agent.sockets).some((l) => l && l.length) || Object.values(agent.requests).some((l) => l && l.length);
      if (busy) {
        // idle keep-alive sockets of a retired upstream are useless: close them now
        for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy();
        continue;
      }
      agent.destroy();
      this.retired.delete(agent);
    }
    if (!this.retired.size && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    for (const agent of this.retired) agent.destroy();
    this.agents.clear();
    this.retired.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }
}
