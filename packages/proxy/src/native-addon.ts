import { createRequire } from 'node:module';

/**
 * Loads one of the optional addons that native/build.mjs compiles (Linux only). Either the
 * addon, or why it is not available here (not built for lack of a C compiler, another libc, ...)
 * so the caller can log it once; the proxy works without any of them.
 */
export function loadAddon<T>(name: string, has: (addon: Partial<T>) => boolean): { addon: T; reason?: undefined } | { addon?: undefined; reason: string } {
  if (process.platform !== 'linux') return { reason: 'the native addons are Linux-only' };
  try {
    // dist/src/native-addon.js → dist/native/<name>.node, where native/build.mjs puts it
    const addon = createRequire(import.meta.url)(`../native/${name}.node`) as Partial<T>;
    return has(addon) ? { addon: addon as T } : { reason: `the ${name} addon has nothing to offer on this system` };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0]! };
  }
}
