/**
 * Coordinates of the real test infrastructure started by scripts/infra/start.sh. Tests that need
 * a part call `infra(t, 'docker')`: locally the test is skipped with a reason when the part is
 * not running; in CI (DISPENSER_REQUIRE_INFRA=1) a missing part is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Infra {
  registry: string;
  registryLog: string;
  pebbleDirectory: string;
  /** Pebble's management API (its issuing root), e.g. https://127.0.0.1:15000 */
  pebbleManagement: string;
  pebbleCa: string;
  pebbleHttpPort: number;
  challtestsrv: string;
  baseImage: string;
}

export type Part = 'docker' | 'registry' | 'pebble';

interface SkippableContext {
  skip(message?: string): void;
}

/**
 * The variables start.sh wrote to $DISPENSER_INFRA_DIR/env, for a shell that did not source it:
 * the infra picks other ports when the default ones are taken, so only that file knows them.
 */
function envFile(dir: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(join(dir, 'env'), 'utf8');
  } catch {
    return {};
  }
  const vars: Record<string, string> = {};
  for (const m of text.matchAll(/^export (DISPENSER_TEST_\w+)=(.*)$/gm)) vars[m[1]!] = m[2]!;
  return vars;
}

export function infraEnv(): Infra {
  const dir = process.env.DISPENSER_INFRA_DIR ?? '/tmp/dispenser-infra';
  const env: Record<string, string | undefined> = { ...envFile(dir), ...process.env };
  return {
    registry: env.DISPENSER_TEST_REGISTRY ?? '127.0.0.1:5000',
    registryLog: env.DISPENSER_TEST_REGISTRY_LOG ?? join(dir, 'registry.log'),
    pebbleDirectory: env.DISPENSER_TEST_PEBBLE_DIRECTORY ?? 'https://127.0.0.1:14000/dir',
    pebbleManagement: env.DISPENSER_TEST_PEBBLE_MANAGEMENT ?? 'https://127.0.0.1:15000',
    pebbleCa: env.DISPENSER_TEST_PEBBLE_CA ?? join(dir, 'pebble/cert.pem'),
    pebbleHttpPort: Number(env.DISPENSER_TEST_PEBBLE_HTTP_PORT ?? 5002),
    challtestsrv: env.DISPENSER_TEST_CHALLTESTSRV ?? 'http://127.0.0.1:8055',
    baseImage: env.DISPENSER_TEST_BASE_IMAGE ?? 'dispenser-test/busybox:base',
  };
}

/** True when `command args` exits 0 within 5 s. */
function answers(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const checked = new Map<Part, boolean>();

/**
 * Whether a part is running, asked once per process. A socket or env file left behind by a part
 * that has stopped (e.g. after a reboot) does not count: tests would hang on it instead of
 * being skipped.
 */
function available(part: Part): boolean {
  let up = checked.get(part);
  if (up === undefined) {
    const env = infraEnv();
    switch (part) {
      case 'docker':
        up = answers('docker', ['version', '--format', '{{.Server.Version}}']);
        break;
      case 'registry':
        up = answers('curl', ['-sf', '-o', '/dev/null', `http://${env.registry}/v2/`]);
        break;
      case 'pebble':
        up = answers('curl', ['-sf', '-o', '/dev/null', '--cacert', env.pebbleCa, env.pebbleDirectory]);
        break;
    }
    checked.set(part, up);
  }
  return up;
}

/** Returns the infra coordinates, or undefined after skipping the test (locally only). */
export function infra(t: SkippableContext, ...parts: Part[]): Infra | undefined {
  const missing = parts.filter((p) => !available(p));
  if (missing.length > 0) {
    const why = `needs ${missing.join(', ')}: run scripts/infra/start.sh`;
    if (process.env.DISPENSER_REQUIRE_INFRA === '1') throw new Error(why);
    t.skip(why);
    return undefined;
  }
  return infraEnv();
}
