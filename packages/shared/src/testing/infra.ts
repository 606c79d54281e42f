/**
 * Coordinates of the real test infrastructure started by scripts/infra/start.sh. Tests that need
 * a part call `infra(t, 'docker')`: locally the test is skipped with a reason when the part is
 * not running; in CI (DISPENSER_REQUIRE_INFRA=1) a missing part is a failure, never a skip.
 */
import { existsSync } from 'node:fs';

export interface Infra {
  registry: string;
  registryLog: string;
  pebbleDirectory: string;
  pebbleCa: string;
  pebbleHttpPort: number;
  challtestsrv: string;
  baseImage: string;
}

export type Part = 'docker' | 'registry' | 'pebble';

interface SkippableContext {
  skip(message?: string): void;
}

export function infraEnv(): Infra {
  const env = process.env;
  return {
    registry: env.DISPENSER_TEST_REGISTRY ?? '127.0.0.1:5000',
    registryLog: env.DISPENSER_TEST_REGISTRY_LOG ?? '/tmp/dispenser-infra/registry.log',
    pebbleDirectory: env.DISPENSER_TEST_PEBBLE_DIRECTORY ?? 'https://127.0.0.1:14000/dir',
    pebbleCa: env.DISPENSER_TEST_PEBBLE_CA ?? '/tmp/dispenser-infra/pebble/cert.pem',
    pebbleHttpPort: Number(env.DISPENSER_TEST_PEBBLE_HTTP_PORT ?? 5002),
    challtestsrv: env.DISPENSER_TEST_CHALLTESTSRV ?? 'http://127.0.0.1:8055',
    baseImage: env.DISPENSER_TEST_BASE_IMAGE ?? 'dispenser-test/busybox:base',
  };
}

function available(part: Part): boolean {
  switch (part) {
    case 'docker':
      return existsSync(process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock');
    case 'registry':
    case 'pebble':
      return process.env.DISPENSER_TEST_REGISTRY !== undefined || existsSync('/tmp/dispenser-infra/env');
  }
}

/** Returns the infra coordinates, or undefined after skipping the test (locally only). */
export function infra(t: SkippableContext, ...parts: Part[]): Infra | undefined {
  const missing = parts.filter((p) => !available(p));
  if (missing.length > 0) {
    const why = `needs ${missing.join(', ')}: run scripts/infra/start.sh and source its env file`;
    if (process.env.DISPENSER_REQUIRE_INFRA === '1') throw new Error(why);
    t.skip(why);
    return undefined;
  }
  return infraEnv();
}
