/** The docker CLI for tests: test images, and cleanup by label on the real engine. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Builds an image FROM the busybox base with the given files and CMD, pushes it to the loopback
 * registry under `ref`, and returns the registry digest.
 */
export function buildAndPush(
  ref: string,
  opts: { base: string; files?: Record<string, string>; cmd?: string[]; healthcheck?: string },
): string {
  const ctx = mkdtempSync(join(tmpdir(), 'dispenser-img-'));
  try {
    const lines = [`FROM ${opts.base}`];
    for (const [path, content] of Object.entries(opts.files ?? {})) {
      const local = join(ctx, 'files', path);
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, content);
    }
    if (opts.files && Object.keys(opts.files).length) lines.push('COPY files/ /');
    if (opts.healthcheck) lines.push(`HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ${opts.healthcheck}`);
    if (opts.cmd) lines.push(`CMD ${JSON.stringify(opts.cmd)}`);
    lines.push(`LABEL dispenser.test=e2e`);
    writeFileSync(join(ctx, 'Dockerfile'), lines.join('\n') + '\n');
    execFileSync('docker', ['build', '-q', '-t', ref, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: 'ignore' });
    const out = execFileSync('docker', ['push', ref], { encoding: 'utf8' });
    const m = /digest: (sha256:[0-9a-f]{64})/.exec(out);
    if (!m) throw new Error(`no digest in push output: ${out}`);
    return m[1]!;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** A busybox httpd image answering `body` on / and "ok" on /health; exits promptly on SIGTERM. */
export function httpdImage(ref: string, base: string, body: string): string {
  return buildAndPush(ref, {
    base,
    files: { '/www/index.html': `${body}\n`, '/www/health': 'ok\n' },
    cmd: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'],
  });
}

/**
 * Removes every container (with its volumes) and network carrying all of `labels` (`key=value`),
 * for after hooks: it runs also when the test failed.
 */
export function removeLabelled(...labels: string[]): void {
  const filters = labels.flatMap((l) => ['--filter', `label=${l}`]);
  const ids = docker('ps', '-aq', ...filters).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', '-v', ...ids);
  for (const n of docker('network', 'ls', '-q', ...filters).split('\n').filter(Boolean)) {
    try {
      docker('network', 'rm', n);
    } catch {
      // still in use by a container of another test: that test's cleanup removes it
    }
  }
}

/** Removes every container and network of a Dispenser instance. */
export function removeInstance(instance: string): void {
  removeLabelled(`dispenser.instance=${instance}`);
  try {
    docker('network', 'rm', `dispenser-${instance}`);
  } catch {
    // not there
  }
}
