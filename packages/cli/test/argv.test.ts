import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, normalizeArgv } from '../src/argv.js';
import { PACKAGED_CONFIG_FILE as PACKAGED_CONFIG } from '@dispenser/shared/defaults';
import { defaultConfigFile } from '../src/config-path.js';

test('argv: the command lines of the original become ones oclif parses', () => {
  const cases: Array<[string, string]> = [
    ['', 'run'],
    ['-c x.toml', 'run -c x.toml'],
    ['-t', 'run -t'],
    ['-s reload', 'run -s reload'],
    ['--signal stop -p /run/d.pid', 'run --signal stop -p /run/d.pid'],
    // global flags before the command move behind its id
    ['-c x.toml dev -s web', 'dev -c x.toml -s web'],
    ['-t dev -s web', 'dev -t -s web'],
    ['--config=x.toml -p d.pid dev', 'dev --config=x.toml -p d.pid'],
    ['-c x.toml down', 'down -c x.toml'],
    ['-c dev dev', 'dev -c dev'],
    // a flag's value is never taken for the command
    ['-c run', 'run -c run'],
    ['-s reload dev', 'dev -s reload'],
    // the command first, or no known command: unchanged
    ['dev -s web -c x.toml', 'dev -s web -c x.toml'],
    ['dev', 'dev'],
    ['-c x.toml -- dev', 'run -c x.toml -- dev'],
    ['-c x.toml stray', 'run -c x.toml stray'],
    ['plugin-command -x', 'plugin-command -x'],
    // version and help
    ['-V', '--version'],
    ['-v', '--version'],
    ['--version', '--version'],
    ['-h', 'run --help'],
    ['--help', 'run --help'],
    ['dev -h', 'dev -h'],
    ['help', '--help'],
    ['help dev', 'dev --help'],
  ];
  for (const [input, expected] of cases) {
    const argv = input === '' ? [] : input.split(' ');
    assert.deepEqual(normalizeArgv(argv), expected.split(' '), `dispenser ${input}`);
  }
});

test('default config: the working directory\'s dispenser.toml, else a packaged install\'s, else the working directory\'s', () => {
  const has = (...paths: string[]) => (p: string) => paths.includes(p);
  assert.equal(defaultConfigFile('/srv/app', has('/srv/app/dispenser.toml', PACKAGED_CONFIG)), '/srv/app/dispenser.toml');
  assert.equal(defaultConfigFile('/home/me', has(PACKAGED_CONFIG)), PACKAGED_CONFIG);
  assert.equal(defaultConfigFile('/home/me', has()), '/home/me/dispenser.toml');
});

test('every command takes global flags before it (the argv command list matches the registered commands)', async () => {
  const { commands } = await import('../src/commands/index.js');
  assert.deepEqual([...COMMANDS].sort(), Object.keys(commands).sort());
});
