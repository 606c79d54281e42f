import type { DispenserConfig, ServiceConfig } from '@dispenser/shared/config/types';
import { testProxySettings } from '@dispenser/shared/testing/proxy-settings';
import type { ContainerInfo } from '../src/docker/engine.js';

/** A normalized service as the config loader would produce it, with overrides. */
export function service(name: string, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
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
    dispenser: { watch: false, initialize: 'immediately', pull: 'on-startup', strategy: 'recreate' },
    dependsOn: {},
    ...overrides,
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

/** A container as the engine inspects it: never started unless `state` says so, on the "dispenser" network when `ip` is given. */
export function containerInfo(state: Record<string, unknown>, ip?: string): ContainerInfo {
  return {
    State: { Running: false, StartedAt: '0001-01-01T00:00:00Z', ExitCode: 0, Status: 'created', ...state },
    NetworkSettings: { Networks: ip ? { dispenser: { IPAddress: ip } } : {} },
  } as unknown as ContainerInfo;
}
