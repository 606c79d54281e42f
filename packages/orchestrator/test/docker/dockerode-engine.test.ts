import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareApiVersions } from '../../src/docker/dockerode-engine.js';

test('Engine API versions compare numerically, not as text', () => {
  assert.ok(compareApiVersions('1.41', '1.45') < 0 && compareApiVersions('1.45', '1.9') > 0);
});
