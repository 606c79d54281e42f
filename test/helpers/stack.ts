/** Writes a temporary Dispenser config directory (dispenser.toml + one dir per service). */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Stack {
  dir: string;
  configFile: string;
  pidFile: string;
  /** replace a file (relative to the stack dir) — e.g. for a reload */
  write(path: string, content: string): void;
  remove(): void;
}

export function writeStack(mainToml: string, services: Record<string, string>): Stack {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-stack-'));
  const write = (path: string, content: string): void => {
    const full = join(dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
  };
  write('dispenser.toml', mainToml);
  for (const [name, toml] of Object.entries(services)) write(join(name, 'service.toml'), toml);
  return {
    dir,
    configFile: join(dir, 'dispenser.toml'),
    pidFile: join(dir, 'dispenser.pid'),
    write,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
