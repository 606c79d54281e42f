import { execFileSync } from 'node:child_process';

/** True when `tool` is on the PATH (a missing optional tool skips what needs it). */
export function which(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
