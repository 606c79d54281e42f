/**
 * The CLI's own tests run the real CLI (`startDaemon`/`runCli` from @dispenser/shared/testing/daemon)
 * with fixture children: a workspace for their config and pid file, and the fixtures' answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@dispenser/shared/testing/ports';
export { freePort };

const here = fileURLToPath(new URL('.', import.meta.url));
export const fakeOrchestrator = join(here, '..', 'fixtures', 'fake-orchestrator.js');
export const fakeWorker = join(here, '..', 'fixtures', 'fake-worker.js');

/** The CLI's children replaced by the fixtures, for `startDaemon(args, fakeChildren, { t })`. */
export const fakeChildren: NodeJS.ProcessEnv = { DISPENSER_ORCHESTRATOR_ENTRY: fakeOrchestrator, DISPENSER_PROXY_ENTRY: fakeWorker };

export interface FakeConfig {
  port: number;
  workers: number;
  enabled?: boolean;
  tag: string;
  invalid?: boolean;
  fatal?: string;
  crash?: boolean;
  /** stays up after `drain`, so the supervisor has to kill it */
  ignoreDrain?: boolean;
  shutdownTimeoutMs?: number;
}

export class Workspace {
  readonly dir: string;
  readonly configFile: string;
  readonly pidFile: string;
  constructor(t: { after(fn: () => void): void }) {
    this.dir = mkdtempSync(join(tmpdir(), 'dispenser-super-'));
    this.configFile = join(this.dir, 'dispenser.toml');
    this.pidFile = join(this.dir, 'dispenser.pid');
    t.after(() => rmSync(this.dir, { recursive: true, force: true }));
  }
  writeConfig(config: FakeConfig): void {
    writeFileSync(this.configFile, JSON.stringify(config));
  }
}

export interface Answer {
  worker: number;
  pid: number;
  tag: string | null;
}

export function get(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Answer);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export { setTimeout as sleep } from 'node:timers/promises';
