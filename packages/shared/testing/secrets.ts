import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, type LoadResult } from '../src/config/load.js';

/** Secret-looking test values: letters, digits and "!+-", never a valid name, size or boolean. */
export function fakeSecret(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!+-';
  const bytes = randomBytes(length);
  let out = '';
  // one "!" in the middle: never a valid container name, whatever the random part
  for (let i = 0; i < length; i++) out += i === length >> 1 ? '!' : alphabet[(bytes[i] as number) % alphabet.length];
  return out;
}

/** The first run of 8 characters of `secret` found in `text`, or undefined when none leaked. */
export function leakedPiece(text: string, secret: string, min = 8): string | undefined {
  for (let i = 0; i + min <= secret.length; i++) {
    const piece = secret.slice(i, i + min);
    if (text.includes(piece)) return piece;
  }
  return undefined;
}

/** Secret lengths every redaction test covers: short, common token sizes, a long key. */
export const SECRET_LENGTHS = [8, 16, 64, 200] as const;

/**
 * Writes a one-service config in `dir` whose variable `pw` is `secret` (read from the
 * environment) and loads it: `serviceToml` uses `${ pw }` where the secret should end up.
 */
export async function loadWithSecret(dir: string, serviceToml: string, secret: string): Promise<LoadResult> {
  await mkdir(join(dir, 'app'), { recursive: true });
  await writeFile(join(dir, 'dispenser.toml'), '[[service]]\npath = "app"\n');
  await writeFile(join(dir, 'dispenser.vars'), 'pw = { source = "env", name = "TEST_PW" }\n');
  await writeFile(join(dir, 'app', 'service.toml'), serviceToml);
  return loadConfig(join(dir, 'dispenser.toml'), { env: { TEST_PW: secret } });
}
