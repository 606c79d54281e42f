import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCerts, selectContext } from '../src/sni.js';
import { makeCert } from './helpers.js';

test('certificate store: exact names, one-label wildcards, broken entries skipped', () => {
  const a = makeCert(['a.test']);
  const w = makeCert(['*.w.test']);
  const { store, problems } = compileCerts([
    { hosts: ['A.test', 'www.a.test'], ...a },
    { hosts: ['broken.test'], certPem: 'not a pem', keyPem: 'nope' },
    { hosts: ['*.w.test'], ...w },
  ]);
  assert.equal(problems.length, 1);
  assert.deepEqual(problems[0]!.hosts, ['broken.test']);
  const cases: [string, boolean][] = [
    ['a.test', true],
    ['WWW.A.TEST', true],
    ['x.w.test', true],
    ['w.test', false],
    ['a.b.w.test', false],
    ['broken.test', false],
    ['other.test', false],
  ];
  for (const [name, found] of cases) assert.equal(selectContext(store, name) !== undefined, found, name);
  assert.equal(selectContext(store, 'www.a.test'), selectContext(store, 'a.test'), 'one context per certificate');
});
