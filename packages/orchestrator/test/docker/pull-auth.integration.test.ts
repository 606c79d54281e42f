import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infra } from '@dispenser/shared/testing/infra';
import { pullAuthSource } from '../../src/docker/pull-auth.js';
import { DockerCredentials } from '../../src/registry/credentials.js';
import { containerNameFor } from '../../src/reconcile/desired.js';
import { config, service } from '@dispenser/shared/testing/config';
import { docker } from '@dispenser/shared/testing/docker';
import { harness, rand } from '../helpers/docker.js';
import { freePort } from '@dispenser/shared/testing/ports';

test('pulls from a registry that needs a login, with credentials from the Docker config file', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const dir = mkdtempSync(join(tmpdir(), 'orch-authreg-'));
  const port = await freePort();
  execFileSync('sh', ['-c', `htpasswd -Bbn orch s3cret > ${dir}/htpasswd`]);
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: 127.0.0.1:${port} }\nauth: { htpasswd: { realm: orch-test, path: ${dir}/htpasswd } }\n`,
  );
  const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const h = harness('orch-auth');
  const image = `127.0.0.1:${port}/orch-test-auth-${rand()}:1`;
  const dockerConfig = join(dir, 'docker');
  mkdirSync(dockerConfig);
  try {
    for (let i = 0; ; i++) {
      try {
        execFileSync('docker', ['--config', dockerConfig, 'login', '-u', 'orch', '--password-stdin', `127.0.0.1:${port}`], { input: 's3cret', stdio: ['pipe', 'ignore', 'ignore'] });
        break;
      } catch (err) {
        if (i > 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    docker('tag', env.baseImage, image);
    execFileSync('docker', ['--config', dockerConfig, 'push', '-q', image], { stdio: ['ignore', 'ignore', 'pipe'] });
    docker('rmi', image);
    const svc = service('private', { image, command: ['sleep', '300'] });

    const anonymous = h.make({ pullAuth: async () => undefined });
    const denied = await anonymous.reconcile(config([svc]));
    assert.equal(denied.outcomes[0]?.error?.code, 'IMAGE_UNAVAILABLE', 'without credentials the pull is refused');
    anonymous.stop();

    const o = h.make({ pullAuth: pullAuthSource(new DockerCredentials({ configDir: dockerConfig })) });
    const r = await o.reconcile(config([svc]));
    assert.deepEqual(r.outcomes.map((x) => [x.service, x.ok]), [['private', true]]);
    assert.equal((await h.inspect(containerNameFor(h.instance, 'private')))?.State.Running, true);

    // an error that arrives inside the pull's progress stream (the manifest is there, a layer is
    // not) fails the pull instead of passing for a success
    const broken = `127.0.0.1:${port}/orch-test-broken-${rand()}:1`;
    h.images.push(broken);
    // a layer of its own, so the daemon has to download it
    execFileSync('docker', ['build', '-q', '-t', broken, '-'], { input: `FROM ${env.baseImage}\nLABEL dispenser.test=orch\nRUN mkdir -p /www && echo ${rand()} > /www/unique\n`, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
    execFileSync('docker', ['--config', dockerConfig, 'push', '-q', broken], { stdio: ['ignore', 'ignore', 'pipe'] });
    docker('rmi', broken);
    const repo = broken.slice(broken.indexOf('/') + 1, broken.lastIndexOf(':'));
    const manifest = (await (
      await fetch(`http://127.0.0.1:${port}/v2/${repo}/manifests/1`, {
        headers: { authorization: `Basic ${Buffer.from('orch:s3cret').toString('base64')}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).json()) as { layers: Array<{ digest: string }> };
    for (const l of manifest.layers) {
      const hex = l.digest.replace('sha256:', '');
      rmSync(join(dir, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true, force: true });
    }
    const r2 = await o.reconcile(config([svc, service('broken', { image: broken })]));
    const b = r2.outcomes.find((x) => x.service === 'broken')!;
    assert.equal(b.error?.code, 'IMAGE_UNAVAILABLE');
    assert.equal((b.error?.cause as { code?: string } | undefined)?.code, 'IMAGE_PULL_FAILED');
    assert.equal(await h.inspect(containerNameFor(h.instance, 'broken')), undefined);
  } finally {
    h.images.push(image);
    h.cleanup();
    registry.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
