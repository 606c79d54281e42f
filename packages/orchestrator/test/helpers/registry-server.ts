import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import type { TokenIssuer } from './token-issuer.js';
import { freePort } from '@dispenser/shared/testing/ports';
export { freePort };

export type RegistryAuth = { kind: 'none' } | { kind: 'basic'; users: Record<string, string> } | { kind: 'token'; issuer: TokenIssuer };

export interface AccessLine {
  method: string;
  path: string;
  status: number;
}

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  /** its self-signed certificate (PEM path) when started with tls */
  certPath: string | undefined;
  /** stops the registry process, keeping its data and port (a registry outage) */
  down(): Promise<void>;
  /** starts it again after down() */
  up(): Promise<void>;
  /** requests the registry answered so far, from its access log */
  access(): Promise<AccessLine[]>;
  stop(): Promise<void>;
}

const ACCESS = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /;

/** answers at all (any status) over HTTPS, certificate not checked */
function httpsAnswers(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}

/** A private `docker-registry serve` on a random loopback port, anonymous or with auth, optionally with a self-signed TLS certificate. */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, opts: { tls?: boolean } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'cd-registry-'));
  const port = await freePort();
  let tlsYaml = '';
  const cert = opts.tls ? join(dir, 'tls.crt') : undefined;
  if (cert) {
    const key = join(dir, 'tls.key');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    tlsYaml = `  tls:\n    certificate: ${cert}\n    key: ${key}\n`;
  }
  let authYaml = '';
  if (auth.kind === 'basic') {
    const lines: string[] = [];
    for (const [u, p] of Object.entries(auth.users)) lines.push((await run('htpasswd', ['-Bbn', u, p])).stdout.trim());
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: dispenser-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    const i = auth.issuer;
    authYaml = `auth:\n  token:\n    realm: ${i.realm}\n    service: ${i.service}\n    issuer: ${i.issuer}\n    rootcertbundle: ${i.certPath}\n`;
  }
  const cfg = join(dir, 'config.yml');
  await writeFile(cfg, `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tlsYaml}${authYaml}`);
  const logPath = join(dir, 'registry.log');
  const host = `127.0.0.1:${port}`;
  const launch = async (): Promise<ChildProcess> => {
    const fd = openSync(logPath, 'a');
    const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        if (opts.tls) await httpsAnswers(`https://${host}/v2/`);
        else await (await fetch(`http://${host}/v2/`)).arrayBuffer();
        return child;
      } catch {
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill();
          throw new Error(`docker-registry did not start: ${await readFile(logPath, 'utf8').catch(() => '')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  let child = await launch();
  return {
    host,
    certPath: cert,
    async access() {
      const text = await readFile(logPath, 'utf8');
      const out: AccessLine[] = [];
      for (const line of text.split('\n')) {
        const m = ACCESS.exec(line);
        if (m && !line.startsWith('time=')) out.push({ method: m[1] as string, path: m[2] as string, status: Number(m[3]) });
      }
      return out;
    },
    async down() {
      await kill();
    },
    async up() {
      child = await launch();
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
