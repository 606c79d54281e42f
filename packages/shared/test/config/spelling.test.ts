import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispenserFileSchema, serviceFileSchema } from '../../src/config/schema.js';

const base = { service: { name: 'a', image: 'nginx' }, dispenser: { watch: false } };

/** Every enum of the original Dispenser, under the spellings its structs and docs accept, and more. */
const SERVICE_ENUMS: { field: string; set: (v: string) => unknown; get: (r: ReturnType<typeof serviceFileSchema.parse>) => unknown; spellings: Record<string, string[]> }[] = [
  {
    field: 'service.restart',
    set: (v) => ({ ...base, service: { ...base.service, restart: v } }),
    get: (r) => r.service.restart,
    spellings: {
      no: ['no', 'No', 'NO', 'never', 'Never'],
      always: ['always', 'Always'],
      'on-failure': ['on-failure', 'OnFailure', 'on_failure', 'onfailure', 'on failure', 'ON-FAILURE'],
      'unless-stopped': ['unless-stopped', 'UnlessStopped', 'unless_stopped', 'unlessstopped', 'unless stopped'],
    },
  },
  {
    field: 'dispenser.initialize',
    set: (v) => ({ ...base, dispenser: { watch: false, initialize: v } }),
    get: (r) => r.dispenser.initialize,
    spellings: {
      immediately: ['immediately', 'Immediately'],
      'on-trigger': ['on-trigger', 'OnTrigger', 'on_trigger', 'on trigger', 'ontrigger'],
    },
  },
  {
    field: 'dispenser.pull',
    set: (v) => ({ ...base, dispenser: { watch: false, pull: v } }),
    get: (r) => r.dispenser.pull,
    spellings: {
      always: ['always', 'Always'],
      'on-startup': ['on-startup', 'OnStartup', 'on_startup', 'onstartup', 'on startup'],
    },
  },
  {
    field: 'depends_on',
    set: (v) => ({ ...base, depends_on: { db: v } }),
    get: (r) => r.depends_on.db,
    spellings: {
      started: ['started', 'Started', 'service-started', 'service_started', 'ServiceStarted'],
      completed: ['completed', 'Completed', 'service-completed', 'service_completed'],
      healthy: ['healthy', 'Healthy', 'service-healthy', 'service_healthy', 'service healthy'],
    },
  },
  {
    field: 'dispenser.strategy',
    set: (v) => ({ ...base, dispenser: { watch: false, strategy: v } }),
    get: (r) => r.dispenser.strategy,
    spellings: { rollout: ['rollout', 'Rollout'], recreate: ['recreate', 'Recreate'] },
  },
];

test('service.toml enums take every spelling the original did and come out canonical', () => {
  for (const e of SERVICE_ENUMS) {
    for (const [canonical, spellings] of Object.entries(e.spellings)) {
      for (const s of spellings) assert.equal(e.get(serviceFileSchema.parse(e.set(s))), canonical, `${e.field} = "${s}"`);
    }
  }
});

test('dispenser.toml enums take every spelling the original did and come out canonical', () => {
  const strategies: Record<string, string[]> = {
    'https-only': ['https-only', 'HttpsOnly', 'https_only', 'httpsonly'],
    'http-only': ['http-only', 'HttpOnly', 'http_only', 'http only'],
    both: ['both', 'Both'],
  };
  for (const [canonical, spellings] of Object.entries(strategies)) {
    for (const s of spellings) assert.equal(dispenserFileSchema.parse({ proxy: { strategy: s } }).proxy.strategy, canonical, s);
  }
  const drivers: Record<string, string[]> = { bridge: ['bridge', 'Bridge'], host: ['Host'], overlay: ['Overlay', 'overlay'], macvlan: ['Macvlan', 'MacVlan', 'mac_vlan'], none: ['None'] };
  for (const [canonical, spellings] of Object.entries(drivers)) {
    for (const s of spellings) assert.equal(dispenserFileSchema.parse({ network: [{ name: 'n', driver: s }] }).network[0]!.driver, canonical, s);
  }
});

test('a value that is no spelling of any choice is still refused', () => {
  for (const bad of ['on-fail', 'sometimes', '', 'no-restart']) assert.equal(serviceFileSchema.safeParse({ ...base, service: { ...base.service, restart: bad } }).success, false, bad);
  assert.equal(serviceFileSchema.safeParse({ ...base, service: { ...base.service, restart: true } }).success, false);
  assert.equal(dispenserFileSchema.safeParse({ proxy: { strategy: 'https' } }).success, false);
});

test('a proxy path is read as the original read it', () => {
  const path = (p: string) => serviceFileSchema.parse({ ...base, proxy: { host: 'a.example.com', service_port: 80, path: p } }).proxy!.path;
  assert.equal(path('api'), '/api');
  assert.equal(path('api/'), '/api');
  assert.equal(path('/api/'), '/api');
  assert.equal(path('/api/v1'), '/api/v1');
  assert.equal(path(''), '/');
  assert.equal(path('/'), '/');
  assert.equal(serviceFileSchema.parse({ ...base, proxy: { host: 'a.example.com', service_port: 80 } }).proxy!.path, '/');
});

test('proxy hosts and extra hosts the original passed on are accepted', () => {
  const host = (h: string) => serviceFileSchema.parse({ ...base, proxy: { host: h, service_port: 80 } }).proxy!.host;
  assert.equal(host('my_host'), 'my_host', 'underscore: a valid HTTP reg-name');
  assert.equal(host('EXAMPLE.com.'), 'EXAMPLE.com', 'a fully qualified trailing dot is dropped');
  for (const bad of ['', 'a b.example.com', 'example..com', '-x.example.com', 'a.example.com/x', 'a.example.com:8080']) {
    assert.equal(serviceFileSchema.safeParse({ ...base, proxy: { host: bad, service_port: 80 } }).success, false, bad);
  }
  const extra = (ip: string) => serviceFileSchema.safeParse({ ...base, extra_host: [{ hostname: 'db', ipv4: ip }] }).success;
  assert.equal(extra('10.0.0.5'), true);
  assert.equal(extra('fd00::5'), true, 'IPv6, as Docker takes it');
  assert.equal(extra('10.0.0'), false);
});
