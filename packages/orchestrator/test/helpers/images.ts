import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomName } from '@dispenser/shared/testing/docker';
import { infraEnv } from '@dispenser/shared/testing/infra';
import { run } from './exec.js';

export const TEST_LABEL = 'dispenser.test=cd';

/**
 * Builds and pushes test images. Every image is labelled with this session's id so cleanup
 * removes exactly what it built.
 */
export class ImagePusher {
  readonly session = randomName('cd');
  /** `docker --config` dir for authenticated registries */
  constructor(private readonly dockerConfig?: string) {}

  private docker(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('docker', this.dockerConfig ? ['--config', this.dockerConfig, ...args] : args, { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  }

  async login(registry: string, user: string, password: string): Promise<void> {
    await run('docker', ['--config', this.dockerConfig ?? '', 'login', registry, '-u', user, '--password-stdin'], { input: password });
  }

  /**
   * Builds a new image (fresh content, so a fresh digest) FROM the base image, with an optional
   * command, pushes it as `ref`, and returns the manifest digest the registry reports.
   */
  async push(ref: string, opts: { cmd?: string[] } = {}): Promise<string> {
    const ctx = await mkdtemp(join(tmpdir(), 'cd-img-'));
    try {
      await writeFile(join(ctx, 'stamp'), randomBytes(16).toString('hex'));
      const cmd = opts.cmd ? `CMD ${JSON.stringify(opts.cmd)}\n` : '';
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${infraEnv().baseImage}\nCOPY stamp /stamp\nLABEL dispenser.test=cd dispenser.test.session=${this.session}\n${cmd}`);
      await this.docker(['build', '-q', '-t', ref, ctx]);
      const out = await this.docker(['push', ref]);
      const m = /digest: (sha256:[a-f0-9]{64})/.exec(out.stdout);
      if (!m?.[1]) throw new Error(`no digest in docker push output: ${out.stdout}`);
      return m[1];
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
  }

  /** removes every image this pusher built (and pulled copies of them) */
  async cleanup(): Promise<void> {
    const { stdout } = await run('docker', ['image', 'ls', '-q', '--filter', `label=dispenser.test.session=${this.session}`]).catch(() => ({ stdout: '' }));
    const ids = [...new Set(stdout.split('\n').filter(Boolean))];
    if (ids.length > 0) await run('docker', ['rmi', '-f', ...ids]).catch(() => undefined);
  }
}
