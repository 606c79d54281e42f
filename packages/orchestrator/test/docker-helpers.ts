import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { instanceFromEnv, type InstanceIdentity } from '@dispenser/shared/instance';
import type { Route } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import type { ProxyPublisher } from '../src/contracts.js';
import { DockerodeEngine } from '../src/docker/dockerode-engine.js';
import type { ContainerInfo } from '../src/docker/engine.js';
import { Orchestrator, type OrchestratorOptions } from '../src/orchestrator.js';

export const TEST_LABEL = 'dispenser.test=orch';

export function rand(): string {
  return randomBytes(4).toString('hex');
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Builds an image FROM the test base image with the given Dockerfile lines; pushes it unless local. */
export function buildImage(registry: string, baseImage: string, lines: string[], opts: { push?: boolean } = {}): string {
  const tag = `${registry}/orch-test-${rand()}:1`;
  const dockerfile = [`FROM ${baseImage}`, `LABEL ${TEST_LABEL}`, ...lines].join('\n');
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
  if (opts.push !== false) execFileSync('docker', ['push', '-q', tag], { stdio: ['ignore', 'ignore', 'pipe'] });
  return tag;
}

export class MemoryPublisher implements ProxyPublisher {
  routes: Route[] = [];
  async publishRoutes(routes: readonly Route[]): Promise<void> {
    this.routes = [...routes];
  }
  async publishCerts(): Promise<void> {}
  async publishChallenges(): Promise<void> {}
}

export interface Harness {
  instance: InstanceIdentity;
  engine: DockerodeEngine;
  publisher: MemoryPublisher;
  orchestrators: Orchestrator[];
  make(extra?: Partial<OrchestratorOptions>): Orchestrator;
  inspect(name: string): Promise<ContainerInfo | undefined>;
  /** removes everything of this instance carrying the test label, and the images built */
  cleanup(): void;
  images: string[];
}

export function harness(area: string): Harness {
  const instance = instanceFromEnv({ DISPENSER_INSTANCE: `test-${area}-${rand()}` });
  const engine = new DockerodeEngine();
  const publisher = new MemoryPublisher();
  const log = createLogger('orchestrator', { test: area });
  log.level = process.env.DISPENSER_LOG_LEVEL ?? 'warn';
  const h: Harness = {
    instance,
    engine,
    publisher,
    orchestrators: [],
    images: [],
    make(extra = {}) {
      const o = new Orchestrator({ engine, publisher, log, instance, extraLabels: { 'dispenser.test': 'orch' }, retryBaseMs: 60_000, dependencyTimeoutMs: 30_000, stopTimeoutS: 1, ...extra });
      h.orchestrators.push(o);
      return o;
    },
    inspect: (name) => engine.inspectContainer(name),
    cleanup() {
      for (const o of h.orchestrators) o.stop();
      const filter = ['--filter', `label=${TEST_LABEL}`, '--filter', `label=dispenser.instance=${instance.name}`];
      const ids = docker('ps', '-aq', ...filter).split('\n').filter(Boolean);
      if (ids.length) docker('rm', '-f', '-v', ...ids);
      const nets = docker('network', 'ls', '-q', ...filter).split('\n').filter(Boolean);
      for (const n of nets) docker('network', 'rm', n);
      for (const i of h.images) {
        try {
          docker('rmi', '-f', i);
        } catch {
          // already gone
        }
      }
    },
  };
  return h;
}
