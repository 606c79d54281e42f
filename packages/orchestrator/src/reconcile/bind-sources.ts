import { mkdir, stat } from 'node:fs/promises';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import type { ContainerSpec } from '../docker/engine.js';

/** Host paths the container binds (config normalization made them absolute). */
export function bindSources(spec: ContainerSpec): string[] {
  return (spec.HostConfig?.Mounts ?? []).filter((m) => m.Type === 'bind' && m.Source).map((m) => m.Source!);
}

export interface BindSourceFs {
  exists(path: string): Promise<boolean>;
  mkdirp(path: string): Promise<void>;
}

const hostFs: BindSourceFs = {
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
  },
  async mkdirp(path) {
    await mkdir(path, { recursive: true });
  },
};

/**
 * Creates every missing bind-mount source as a directory, as `docker run -v` and the original
 * Dispenser (Binds) do: with the Mounts API that Dispenser uses, Docker refuses a missing source.
 * Here the directory belongs to the user Dispenser runs as, not to root. Returns those created.
 */
export async function createMissingBindSources(spec: ContainerSpec, fs: BindSourceFs = hostFs): Promise<string[]> {
  const created: string[] = [];
  for (const source of bindSources(spec)) {
    try {
      if (await fs.exists(source)) continue;
      await fs.mkdirp(source);
    } catch (err) {
      throw new Error(`cannot create the missing [[volume]] source directory ${source}: ${errorMessage(err)}`, { cause: err });
    }
    created.push(source);
  }
  return created;
}
