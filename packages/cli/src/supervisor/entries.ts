import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DispenserError } from '@dispenser/shared/errors';

/**
 * The files the children run. Plain entry files, not oclif commands, so a child starts fast.
 * Tests point these at fixture children through the environment.
 */
export interface ChildEntries {
  orchestrator: string;
  proxyWorker: string;
}

function resolveEntry(envValue: string | undefined, specifier: string, what: string): string {
  let path: string;
  if (envValue) path = resolve(envValue);
  else {
    try {
      path = fileURLToPath(import.meta.resolve(specifier));
    } catch (err) {
      throw new DispenserError('CHILD_ENTRY_MISSING', `cannot find the ${what} (${specifier}): ${(err as Error).message}`, {
        hint: 'the installation is incomplete: reinstall dispenser, or run `npm run build` in a checkout',
      });
    }
  }
  if (!existsSync(path)) {
    throw new DispenserError('CHILD_ENTRY_MISSING', `the ${what} entry ${path} does not exist`, {
      hint: 'the installation is incomplete: reinstall dispenser, or run `npm run build` in a checkout',
    });
  }
  return path;
}

export function childEntries(env: NodeJS.ProcessEnv = process.env): ChildEntries {
  return {
    orchestrator: resolveEntry(env.DISPENSER_ORCHESTRATOR_ENTRY, '@dispenser/orchestrator/main', 'orchestrator'),
    proxyWorker: resolveEntry(env.DISPENSER_PROXY_ENTRY, '@dispenser/proxy/worker', 'proxy worker'),
  };
}
