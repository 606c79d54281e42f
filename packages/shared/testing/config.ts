/**
 * Normalized configuration as the config loader would produce it, for tests of what consumes it
 * (planning, reconcile, continuous deployment, certificates). One builder per type, one signature:
 * the defaults plus what the test states.
 */
import type { DispenserConfig, ServiceConfig, ServiceDispenserConfig } from '../src/config/types.js';
import { testProxySettings } from './proxy-settings.js';

export type ServiceOverrides = Partial<Omit<ServiceConfig, 'dispenser'>> & { dispenser?: Partial<ServiceDispenserConfig> };

/** A service under /tmp/dispenser-test/<name>; `dispenser` is merged over the defaults. */
export function service(name: string, overrides: ServiceOverrides = {}): ServiceConfig {
  const { dispenser, ...rest } = overrides;
  return {
    name,
    dir: `/tmp/dispenser-test/${name}`,
    file: `/tmp/dispenser-test/${name}/service.toml`,
    image: 'example/app:1',
    restart: 'no',
    ports: [],
    volumes: [],
    env: {},
    networks: [],
    extraHosts: [],
    hostDockerInternal: true,
    dependsOn: {},
    ...rest,
    dispenser: { watch: false, initialize: 'immediately', pull: 'on-startup', strategy: 'recreate', ...dispenser },
  };
}

export function config(services: ServiceConfig[], overrides: Partial<DispenserConfig> = {}): DispenserConfig {
  return {
    configFile: '/tmp/dispenser-test/dispenser.toml',
    baseDir: '/tmp/dispenser-test',
    stateDir: '/tmp/dispenser-test/.dispenser',
    delayMs: 60_000,
    networks: [],
    notify: [],
    proxy: testProxySettings({ strategy: 'http-only' }),
    services,
    ...overrides,
  };
}
