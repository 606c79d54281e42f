import type { DispenserConfig, ServiceConfig } from '@dispenser/shared/config/types';

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
    proxy: {
      enabled: true,
      strategy: 'http-only',
      trustForwardedHeaders: false,
      httpPort: 80,
      httpsPort: 443,
      bind: '0.0.0.0',
      workers: 1,
      accessLog: false,
      connectTimeoutMs: 5000,
      upstreamTimeoutMs: 60_000,
      shutdownTimeoutMs: 10_000,
      headerTimeoutMs: 60_000,
      keepaliveTimeoutMs: 75_000,
      bodyTimeoutMs: 60_000,
      sendTimeoutMs: 60_000,
      http2IdleTimeoutMs: 75_000,
    },
    services,
    ...overrides,
  };
}
