import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DispenserError, errorMessage } from '@dispenser/shared/errors';
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from './reference.js';

/** What the registry needs from the user: a password, or an OAuth2 refresh token (`identitytoken`). */
export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'identity-token'; username: string; token: string };

/** Where credentials come from; the client asks once per registry and caches the answer briefly. */
export interface CredentialSource {
  get(registry: string): Promise<Credentials | undefined>;
  /** drop a cached answer the registry just rejected, so the next lookup reads it afresh */
  forget?(registry: string): void;
}

export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export interface DockerCredentialsOptions {
  /** directory holding config.json; default $DOCKER_CONFIG, else ~/.docker */
  configDir?: string;
  /** environment for credential helpers (PATH decides which `docker-credential-*` runs) */
  env?: NodeJS.ProcessEnv;
  /** how long an answer is reused; default 60 s */
  ttlMs?: number;
  now?: () => number;
}

/** The key Docker files a registry's credentials under. */
export function authKey(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registry;
}

/** `https://host:5000/v1/` and `host:5000` name the same registry in `auths`. */
function hostOfKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  const host = stripped.split('/')[0] ?? stripped;
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

export type CredentialPlan = { via: 'helper'; helper: string; serverUrl: string } | { via: 'file'; entry: NonNullable<DockerConfigFile['auths']>[string] } | { via: 'none' };

/** Docker's precedence: credHelpers for that registry, then credsStore, then `auths` in the file. */
export function planCredentialLookup(config: DockerConfigFile, registry: string): CredentialPlan {
  const key = authKey(registry);
  const helpers = config.credHelpers ?? {};
  for (const [k, helper] of Object.entries(helpers)) {
    if (hostOfKey(k) === hostOfKey(key) && helper) return { via: 'helper', helper, serverUrl: k };
  }
  if (config.credsStore) return { via: 'helper', helper: config.credsStore, serverUrl: key };
  for (const [k, entry] of Object.entries(config.auths ?? {})) {
    if (hostOfKey(k) === hostOfKey(key)) return { via: 'file', entry };
  }
  return { via: 'none' };
}

export function credentialsFromAuthEntry(entry: NonNullable<DockerConfigFile['auths']>[string]): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new DispenserError('REGISTRY_CREDENTIALS_INVALID', 'an "auth" entry in the Docker config is not base64 of user:password', { hint: 'run docker login again' });
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (entry.identitytoken) return { kind: 'identity-token', username, token: entry.identitytoken };
  if (username === '' && password === '') return undefined;
  return { kind: 'basic', username, password };
}

function runHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = execFile(bin, ['get'], { env, timeout: 15_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        // Helpers say "credentials not found" on stdout with exit 1: that means anonymous access.
        if (/credentials not found/i.test(stdout)) return resolve(undefined);
        return reject(new DispenserError('REGISTRY_CREDENTIAL_HELPER_FAILED', `credential helper ${bin} failed: ${errorMessage(err)}`, { hint: `check that ${bin} is on PATH for the user running Dispenser and works: echo ${serverUrl} | ${bin} get` }));
      }
      try {
        const parsed = JSON.parse(stdout) as { Username?: string; Secret?: string };
        const username = parsed.Username ?? '';
        const secret = parsed.Secret ?? '';
        if (secret === '') return resolve(undefined);
        if (username === '<token>') return resolve({ kind: 'identity-token', username: '', token: secret });
        resolve({ kind: 'basic', username, password: secret });
      } catch {
        reject(new DispenserError('REGISTRY_CREDENTIAL_HELPER_FAILED', `credential helper ${bin} printed something that is not JSON`, { hint: `run: echo ${serverUrl} | ${bin} get` }));
      }
    });
    child.stdin?.end(serverUrl);
  });
}

/** Credentials of the user running Dispenser, read the way `docker pull` reads them. */
export class DockerCredentials implements CredentialSource {
  private readonly cache = new Map<string, { at: number; value: Promise<Credentials | undefined> }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DockerCredentialsOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  configPath(): string {
    const env = this.options.env ?? process.env;
    const dir = this.options.configDir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker');
    return join(dir, 'config.json');
  }

  get(registry: string): Promise<Credentials | undefined> {
    const hit = this.cache.get(registry);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.lookup(registry);
    this.cache.set(registry, { at: this.now(), value });
    value.catch(() => this.cache.delete(registry));
    return value;
  }

  /** forget a cached answer, e.g. after the registry rejected it */
  forget(registry: string): void {
    this.cache.delete(registry);
  }

  private async lookup(registry: string): Promise<Credentials | undefined> {
    const path = this.configPath();
    let config: DockerConfigFile;
    try {
      config = JSON.parse(await readFile(path, 'utf8')) as DockerConfigFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DispenserError('REGISTRY_CREDENTIALS_INVALID', `cannot read Docker config ${path}: ${errorMessage(err)}`, { hint: 'fix or remove the file; docker login rewrites it' });
    }
    const plan = planCredentialLookup(config, registry);
    switch (plan.via) {
      case 'none':
        return undefined;
      case 'file':
        return credentialsFromAuthEntry(plan.entry);
      case 'helper':
        return runHelper(plan.helper, plan.serverUrl, this.options.env ?? process.env);
    }
  }
}
