import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '@dispenser/shared/errors';
import { apiHost, canonicalRepository, isLoopback, parseReference } from '../../src/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('image references normalize the way docker does', () => {
  const cases: [string, string, string, string | undefined, string | undefined][] = [
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/library/nginx:alpine', 'docker.io', 'library/nginx', 'alpine', undefined],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined],
    ['ghcr.io/org/team/app:v1.2.3', 'ghcr.io', 'org/team/app', 'v1.2.3', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app:dev', 'localhost:5000', 'app', 'dev', undefined],
    ['127.0.0.1:5000/a/b', '127.0.0.1:5000', 'a/b', 'latest', undefined],
    ['[::1]:5000/app:x', '[::1]:5000', 'app', 'x', undefined],
    [`nginx@${D}`, 'docker.io', 'library/nginx', undefined, D],
    [`registry.example.com:443/app:1@${D}`, 'registry.example.com:443', 'app', '1', D],
    ['my_org/my-app__x', 'docker.io', 'my_org/my-app__x', 'latest', undefined],
  ];
  for (const [input, registry, repository, tag, digest] of cases) {
    assert.deepEqual(parseReference(input), { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) }, input);
  }
});

test('the repository of a reference, for pairing it with RepoDigests: registry and path, tag and digest left out', () => {
  const cases: [string, string | undefined][] = [
    ['nginx', 'docker.io/library/nginx'],
    ['library/nginx:1', 'docker.io/library/nginx'],
    ['docker.io/library/nginx', 'docker.io/library/nginx'],
    ['127.0.0.1:5000/a/b:1', '127.0.0.1:5000/a/b'],
    // RepoDigests carry the registry's digest; it is not this parser's to judge
    ['host:5000/a@sha256:abc', 'host:5000/a'],
    ['Nginx', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalRepository(input), want, input);
});

test('malformed references are config errors that say why', () => {
  for (const [input, why] of [
    ['', /empty/],
    ['Nginx', /lowercase/],
    ['ghcr.io/Org/app', /lowercase/],
    ['app:bad tag', /tag/],
    ['app@sha256:short', /digest/],
    ['ghcr.io/', /repository/],
    ['a//b', /path component/],
    ['-app', /path component/],
  ] as const) {
    assert.throws(() => parseReference(input), (err: Error) => errorCode(err) === 'IMAGE_REFERENCE_INVALID' && why.test(err.message), input);
  }
});

test('loopback registries are recognised; Docker Hub is served from its API host', () => {
  assert.equal(isLoopback('127.0.0.1:5000'), true);
  assert.equal(isLoopback('127.8.9.1'), true);
  assert.equal(isLoopback('localhost:5000'), true);
  assert.equal(isLoopback('[::1]:5000'), true);
  assert.equal(isLoopback('128.0.0.1'), false);
  assert.equal(isLoopback('localhost.example.com'), false);
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
});
