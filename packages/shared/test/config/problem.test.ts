import { test } from 'node:test';
import assert from 'node:assert/strict';
import { problemLine } from '../../src/config/problem.js';

test('a config problem as one log line: where, the key path, the message and the code', () => {
  assert.equal(
    problemLine({ code: 'CONFIG_INVALID_VALUE', file: '/srv/web/service.toml', line: 3, column: 10, path: 'service.memory', message: 'expected a memory size' }),
    '/srv/web/service.toml:3:10: service.memory: expected a memory size [CONFIG_INVALID_VALUE]',
  );
  assert.equal(problemLine({ code: 'CONFIG_NOT_FOUND', file: '/srv/dispenser.toml', message: 'no such file' }), '/srv/dispenser.toml: no such file [CONFIG_NOT_FOUND]');
  assert.equal(problemLine({ code: 'CONFIG_TOML_SYNTAX', file: 'a.toml', line: 7, message: 'bad' }), 'a.toml:7: bad [CONFIG_TOML_SYNTAX]');
});
