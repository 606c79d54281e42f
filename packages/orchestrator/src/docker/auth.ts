import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryAuth } from './engine.js';
import { registryHost } from './image-ref.js';

/**
 * Registry credentials for a pull. The daemon does not read the Docker config file on API calls,
 * so the orchestrator reads `auths` from $DOCKER_CONFIG/config.json (or ~/.docker/config.json)
 * and passes them explicitly. Credential helpers are not consulted here.
 */
export async function registryAuthFor(image: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryAuth | undefined> {
  const dir = env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  const host = registryHost(image);
  const candidates = host === 'docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'] : [host];
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    const keyHost = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (!candidates.includes(key) && !candidates.includes(keyHost)) continue;
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep > 0) {
        username = decoded.slice(0, sep);
        password = decoded.slice(sep + 1);
      }
    }
    if (username !== undefined && password !== undefined) return { username, password, serveraddress: key };
  }
  return undefined;
}
