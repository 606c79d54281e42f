import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, lookup, prefixMatches } from '../src/table.js';
import { route } from './helpers.js';

test('path prefixes match on segment boundaries only', () => {
  const cases: [string, string, boolean][] = [
    ['/api', '/api', true],
    ['/api', '/api/', true],
    ['/api', '/api/x/y', true],
    ['/api', '/api?q=1', true],
    ['/api', '/api-v2', false],
    ['/api', '/apix', false],
    ['/api', '/ap', false],
    ['/api', '/', false],
    ['/', '/anything', true],
    ['/', '/', true],
  ];
  for (const [prefix, url, want] of cases) assert.equal(prefixMatches(prefix, url), want, `${prefix} vs ${url}`);
});

test('lookup picks the longest matching prefix for the host', () => {
  const table = compileRoutes([
    route('example.com', '/', 1, 'web'),
    route('example.com', '/api', 2, 'api'),
    route('example.com', '/api/v2/', 3, 'api2'),
    route('Other.example.com', '/', 4, 'other'),
  ]);
  const cases: [string, string, string | undefined][] = [
    ['example.com', '/', 'web'],
    ['example.com', '/index.html', 'web'],
    ['example.com', '/api', 'api'],
    ['example.com', '/api/users?id=1', 'api'],
    ['example.com', '/api-v2', 'web'],
    ['example.com', '/api/v2', 'api2'],
    ['example.com', '/api/v2/x', 'api2'],
    ['example.com', '/api/v22', 'api'],
    ['other.example.com', '/x', 'other'],
    ['nope.example.com', '/', undefined],
  ];
  for (const [host, url, want] of cases) assert.equal(lookup(table, host, url)?.service, want, `${host}${url}`);
});

test('a host without a root route answers only under its prefixes', () => {
  const table = compileRoutes([route('example.com', '/api', 2, 'api')]);
  assert.equal(lookup(table, 'example.com', '/'), undefined);
  assert.equal(lookup(table, 'example.com', '/api/x')?.service, 'api');
});

test('duplicate host+prefix: the first declaration wins; upstream keys are collected', () => {
  const table = compileRoutes([route('a.com', '/', 1, 'first'), route('a.com', '/', 2, 'second'), route('b.com', '/', 3)]);
  assert.equal(lookup(table, 'a.com', '/')?.service, 'first');
  assert.deepEqual([...table.upstreams].sort(), ['127.0.0.1:1', '127.0.0.1:3']);
});

test('the HSTS header value is built when the table is compiled', () => {
  const table = compileRoutes([
    { ...route('a.test', '/', 1), hsts: { maxAgeSeconds: 31_536_000, includeSubDomains: false } },
    { ...route('b.test', '/', 2), hsts: { maxAgeSeconds: 60, includeSubDomains: true } },
    route('c.test', '/', 3),
  ]);
  assert.equal(lookup(table, 'a.test', '/')?.hsts, 'max-age=31536000');
  assert.equal(lookup(table, 'b.test', '/')?.hsts, 'max-age=60; includeSubDomains');
  assert.equal(lookup(table, 'c.test', '/')?.hsts, undefined);
});
