/**
 * `dispenser` is an oclif CLI, so it can be extended with oclif plugins: a plugin installed for
 * the user running Dispenser (in $XDG_DATA_HOME/dispenser, where `oclif plugins install` puts
 * them) adds its commands beside the built-in ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI } from '@dispenser/shared/testing/daemon';

const repoModules = fileURLToPath(new URL('../../../node_modules', import.meta.url));

test('a user-installed oclif plugin adds a command and shows in help', () => {
  const data = mkdtempSync(join(tmpdir(), 'dispenser-plugins-'));
  try {
    const home = join(data, 'dispenser');
    const plugin = join(home, 'node_modules', 'dispenser-plugin-hello');
    mkdirSync(join(plugin, 'commands'), { recursive: true });
    // the plugin resolves @oclif/core like an installed plugin would
    symlinkSync(repoModules, join(plugin, 'node_modules'));
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({
      name: 'dispenser-plugin-hello',
      version: '1.0.0',
      type: 'module',
      oclif: { commands: { strategy: 'explicit', target: './commands/index.js', identifier: 'commands' } },
    }));
    writeFileSync(join(plugin, 'commands', 'index.js'), [
      "import { Command } from '@oclif/core';",
      "class Hello extends Command { static description = 'say hello from a plugin'; async run() { this.log('hello from a plugin'); } }",
      'export const commands = { hello: Hello };',
    ].join('\n'));
    writeFileSync(join(home, 'package.json'), JSON.stringify({
      private: true,
      dependencies: { 'dispenser-plugin-hello': '1.0.0' },
      oclif: { schema: 1, plugins: [{ type: 'user', name: 'dispenser-plugin-hello' }] },
    }));
    const env = { ...process.env, XDG_DATA_HOME: data };
    assert.equal(execFileSync(process.execPath, [CLI, 'hello'], { env, encoding: 'utf8' }).trim(), 'hello from a plugin');
    assert.match(execFileSync(process.execPath, [CLI, 'help'], { env, encoding: 'utf8' }), /hello\s+say hello from a plugin/);
    // the built-in commands are still there
    assert.match(execFileSync(process.execPath, [CLI, 'help'], { env, encoding: 'utf8' }), /down\s+Stop and remove/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
