import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHead, hostOfAuthority, normalizePath, parseTarget } from '../src/request-target.js';

test('hostOfAuthority: host plus an optional numeric port, nothing else', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['Example.COM', 'example.com'],
    ['example.com:8443', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:443', '[::1]'],
    ['[::1]', '[::1]'],
    ['127.0.0.1:80', '127.0.0.1'],
    ['', undefined],
    [undefined, undefined],
    ['evil.com/x', undefined],
    ['a b', undefined],
    ['[::1', undefined],
    ['app:@evil.example', undefined],
    ['app:80/evil', undefined],
    ['app:"><script>', undefined],
    ['app:abc', undefined],
    ['app:', undefined],
    ['app:65536', undefined],
    ['app:123456', undefined],
    ['user@app', undefined],
    ['[::1]x', undefined],
    ['[::1]:80:80', undefined],
    ['app:80:80', undefined],
  ];
  for (const [input, want] of cases) assert.equal(hostOfAuthority(input), want, `authority ${JSON.stringify(input)}`);
});

test('normalizePath removes dot-segments (encoded dots too) and refuses climbing out or encoded-separator tricks', () => {
  const cases: [string, string | undefined][] = [
    ['/', '/'],
    ['/public/index.html', '/public/index.html'],
    ['/public/../secret.html', '/secret.html'],
    ['/public/%2e%2e/secret.html', '/secret.html'],
    ['/public/%2E%2E/secret.html', '/secret.html'],
    ['/public/.%2e/secret.html', '/secret.html'],
    ['/public/./../secret.html', '/secret.html'],
    ['/public//../secret.html', '/public/secret.html'],
    ['/public/a/./b', '/public/a/b'],
    ['/public/..', '/'],
    ['/public/.', '/public/'],
    ['/public/a/..', '/public/'],
    ['/..', undefined],
    ['/../x', undefined],
    ['/a/../../x', undefined],
    ['/public/..%2fsecret.html', undefined],
    ['/public/..%2Fsecret.html', undefined],
    ['/public/%2e%2e%5csecret.html', undefined],
    ['/public/..\\secret.html', undefined],
    ['/api/projects/group%2Fproject', '/api/projects/group%2Fproject'],
    ['/files/a%20b.txt', '/files/a%20b.txt'],
    ['/v1.2/x', '/v1.2/x'],
    ['/.well-known/acme-challenge/t', '/.well-known/acme-challenge/t'],
    ['/a/...', '/a/...'],
    ['/a/.hidden', '/a/.hidden'],
    ['/pub%6cic/x', '/public/x'],
    ['/%7Euser/%41b%2d', '/~user/Ab-'],
    ['/a%20b/%2F/%3F', '/a%20b/%2F/%3F'],
    ['/public/..;/secret', undefined],
    ['/public/.;x/y', undefined],
    ['/public/..;x%2fy', undefined],
    ['/a;b/c', '/a;b/c'],
    ['/public/..%00/x', undefined],
    ['/file%00.txt', undefined],
  ];
  for (const [input, want] of cases) assert.equal(normalizePath(input), want, `path ${JSON.stringify(input)}`);
});

test('parseTarget: origin-form keeps the query as sent; absolute-form yields its authority and an origin-form target', () => {
  assert.deepEqual(parseTarget('/public/../x?a=/../b'), { ok: true, authority: undefined, path: '/x', url: '/x?a=/../b' });
  assert.deepEqual(parseTarget('http://App.test:8080/x/./y?q'), { ok: true, authority: 'App.test:8080', path: '/x/y', url: '/x/y?q' });
  assert.deepEqual(parseTarget('https://app.test'), { ok: true, authority: 'app.test', path: '/', url: '/' });
  assert.deepEqual(parseTarget('http://app.test?q=1'), { ok: true, authority: 'app.test', path: '/', url: '/?q=1' });
  for (const bad of ['*', 'app.test/x', 'ftp://app/x', 'http://user@app/x', 'http://app:x/y', '/a#frag', '']) {
    assert.equal(parseTarget(bad).ok, false, `target ${JSON.stringify(bad)} refused`);
  }
});

test('checkHead: one Host, agreeing with :authority; absolute-form authority wins', () => {
  assert.deepEqual(checkHead('/a', ['Host', 'App.test:81']), { ok: true, host: 'app.test', authority: 'App.test:81', url: '/a', path: '/a' });
  assert.equal(checkHead('/a', ['Host', 'a.test', 'host', 'b.test']).ok, false, 'two Host headers');
  assert.equal(checkHead('/a', ['Host', 'a.test', 'HOST', 'a.test']).ok, false, 'two identical Host headers');
  assert.equal(checkHead('/a', []).ok, false, 'no Host');
  assert.equal(checkHead('/a', ['host', 'app:@evil.example']).ok, false);
  const abs = checkHead('http://real.test/x', ['Host', 'other.test']);
  assert.deepEqual(abs, { ok: true, host: 'real.test', authority: 'real.test', url: '/x', path: '/x' });
  assert.deepEqual(checkHead('/a', [':authority', 'h2.test', ':path', '/a']), { ok: true, host: 'h2.test', authority: 'h2.test', url: '/a', path: '/a' });
  assert.equal(checkHead('/a', [':authority', 'h2.test', 'host', 'evil.test']).ok, false, 'Host differs from :authority');
  assert.equal(checkHead('/a', [':authority', 'h2.test', 'host', 'H2.test']).ok, true);
});
