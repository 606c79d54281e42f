import { readFile, readdir, stat } from 'node:fs/promises';
import type { ConfigProblem } from './problem.js';

export type ReadResult = { ok: true; text: string } | { ok: false; missing: boolean; problem: ConfigProblem };

/** Reads a config file; a missing or unreadable file becomes a problem that says what to do. */
export async function readConfigFile(file: string, what: string): Promise<ReadResult> {
  try {
    // editors on Windows may write a byte-order mark, which TOML does not allow
    return { ok: true, text: (await readFile(file, 'utf8')).replace(/^\uFEFF/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, problem: { code: 'CONFIG_FILE_MISSING', file, message: `${what} does not exist; create it or fix the path` } };
    const why = code === 'EACCES' || code === 'EPERM' ? 'is not readable by the user running Dispenser; fix its permissions' : code === 'EISDIR' ? 'is a directory, expected a file' : `cannot be read (${code ?? (err as Error).message})`;
    return { ok: false, missing: false, problem: { code: 'CONFIG_FILE_UNREADABLE', file, message: `${what} ${why}` } };
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
