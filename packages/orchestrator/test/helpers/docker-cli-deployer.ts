import type { DeployReason, Deployer } from '../../src/contracts.js';
import { run } from './exec.js';
import { TEST_LABEL } from './images.js';

export interface CliService {
  image: string;
  /** host dir → container dir */
  binds?: Record<string, string>;
  cmd?: string[];
}

/**
 * A test-only Deployer on the docker CLI: recreate = `docker rm -f` + `docker run -d`. It stands
 * in for the reconciler so CD can be tested against a real engine and registry on its own; the
 * end-to-end suites use the real orchestrator.
 */
export class DockerCliDeployer implements Deployer {
  readonly deploys: { service: string; reason: DeployReason; pull: boolean; at: number }[] = [];

  constructor(
    private readonly services: Map<string, CliService>,
    /** container name prefix, unique per test */
    private readonly prefix: string,
  ) {}

  container(service: string): string {
    return `${this.prefix}-${service}`;
  }

  private spec(service: string): CliService {
    const s = this.services.get(service);
    if (!s) throw Object.assign(new Error(`unknown service ${service}`), { code: 'SERVICE_UNKNOWN' });
    return s;
  }

  async redeploy(service: string, opts: { reason: DeployReason; pull: boolean }): Promise<void> {
    this.deploys.push({ service, ...opts, at: Date.now() });
    const s = this.spec(service);
    if (opts.pull) await run('docker', ['pull', '-q', s.image]);
    await run('docker', ['rm', '-f', this.container(service)]).catch(() => undefined);
    const binds = Object.entries(s.binds ?? {}).flatMap(([h, c]) => ['-v', `${h}:${c}`]);
    await run('docker', ['run', '-d', '--name', this.container(service), '--label', TEST_LABEL, ...binds, s.image, ...(s.cmd ?? [])]);
  }

  async runningImageDigest(service: string): Promise<string | undefined> {
    const s = this.spec(service);
    const id = await run('docker', ['inspect', '--format', '{{.Image}}', this.container(service)]).then((r) => r.stdout.trim()).catch(() => undefined);
    if (!id) return undefined;
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', id]);
    const repo = s.image.replace(/:[^:/]+$/, '');
    const digests = JSON.parse(stdout) as string[] | null;
    return digests?.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1);
  }

  async isRunning(service: string): Promise<boolean> {
    const out = await run('docker', ['inspect', '--format', '{{.State.Running}}', this.container(service)]).catch(() => undefined);
    return out?.stdout.trim() === 'true';
  }

  async waitForExit(service: string): Promise<number> {
    const { stdout } = await run('docker', ['wait', this.container(service)], { timeoutMs: 600_000 });
    return Number(stdout.trim());
  }

  /** removes every container this deployer created */
  async cleanup(): Promise<void> {
    const names = [...this.services.keys()].map((s) => this.container(s));
    await run('docker', ['rm', '-f', '-v', ...names]).catch(() => undefined);
  }
}
