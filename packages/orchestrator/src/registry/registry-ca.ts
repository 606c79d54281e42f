import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DOCKER_CERTS_DIR = '/etc/docker/certs.d';

/**
 * Extra CA certificates Docker trusts for one registry: every `*.crt` in
 * `/etc/docker/certs.d/<registry>/` (the directory is named like the registry, port included).
 * undefined when there are none, so the registry is verified against the system roots only.
 */
export async function registryCa(registry: string, certsDir = DOCKER_CERTS_DIR): Promise<string[] | undefined> {
  const dir = join(certsDir, registry);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const pems = await Promise.all(names.filter((n) => n.endsWith('.crt')).sort().map((n) => readFile(join(dir, n), 'utf8')));
  return pems.length > 0 ? pems : undefined;
}
