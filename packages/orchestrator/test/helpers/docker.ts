/** The orchestrator against the real engine: one instance per test, cleaned up by label. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { instanceFromEnv, type InstanceIdentity } from '@dispenser/shared/instance';
import { createLogger } from '@dispenser/shared/log';
import { docker, removeLabelled } from '@dispenser/shared/testing/docker';
import { MemoryPublisher } from '@dispenser/shared/testing/publisher';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import type { ContainerInfo } from '../../src/docker/engine.js';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator.js';

export const TEST_LABEL = 'dispenser.test=orch';

export function rand(): string {
  return randomBytes(4).toString('hex');
}

/** Builds an image FROM the test base image with the given Dockerfile lines; pushes it unless local. */
export function buildImage(registry: string, baseImage: string, lines: string[], opts: { push?: boolean } = {}): string {
  const tag = `${registry}/orch-test-${rand()}:1`;
  const dockerfile = [`FROM ${baseImage}`, `LABEL ${TEST_LABEL}`, ...lines].join('\n');
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
  if (opts.push !== false) execFileSync('docker', ['push', '-q', tag], { stdio: ['ignore', 'ignore', 'pipe'] });
  return tag;
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
      removeLabelled(TEST_LABEL, `dispenser.instance=${instance.name}`);
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
