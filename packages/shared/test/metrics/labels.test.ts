import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METHODS, STATUS_CLASSES, methodIndex, statusClassIndex } from '../../src/metrics/labels.js';

test('methods fold into eight label values; unknown, lower-case and missing ones are "other"', () => {
  const label = (m: string | undefined) => METHODS[methodIndex(m)];
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) assert.equal(label(m), m);
  for (const m of ['PROPFIND', 'CONNECT', 'TRACE', 'get', 'x'.repeat(200), '', undefined]) assert.equal(label(m), 'other');
});

test('status codes fold into five classes; out-of-range ones count as 5xx', () => {
  const label = (s: number) => STATUS_CLASSES[statusClassIndex(s)];
  assert.deepEqual([101, 200, 204, 301, 404, 499, 502, 504, 599].map(label), ['1xx', '2xx', '2xx', '3xx', '4xx', '4xx', '5xx', '5xx', '5xx']);
  assert.deepEqual([0, 99, 600, 999].map(label), ['5xx', '5xx', '5xx', '5xx']);
});
