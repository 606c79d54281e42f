import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWwwAuthenticate } from '../../src/registry/www-authenticate.js';

test('WWW-Authenticate challenges parse into scheme and params', () => {
  const cases: [string, ReturnType<typeof parseWwwAuthenticate>][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['basic realm=registry', [{ scheme: 'basic', params: { realm: 'registry' } }]],
    [
      'Basic realm="a, b", Bearer realm="http://127.0.0.1:9/t", service=svc, error="invalid_token"',
      [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'http://127.0.0.1:9/t', service: 'svc', error: 'invalid_token' } },
      ],
    ],
    ['Bearer  REALM = "x\\"y" ,  Service="s"', [{ scheme: 'bearer', params: { realm: 'x"y', service: 's' } }]],
    ['Negotiate', [{ scheme: 'negotiate', params: {} }]],
    ['', []],
    ['realm="no scheme"', []],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: {} }]],
  ];
  for (const [header, expected] of cases) assert.deepEqual(parseWwwAuthenticate(header), expected, header);
});
