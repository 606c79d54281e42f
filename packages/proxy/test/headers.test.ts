import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { applyForwardHeaders, clientAddress } from '../src/headers.js';

test('untrusted: client-sent forwarding headers are replaced, never passed through', () => {
  const h: OutgoingHttpHeaders = { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil', forwarded: 'for=6.6.6.6' };
  applyForwardHeaders(h, { peer: '10.0.0.7', proto: 'http', host: 'example.com', trusted: false });
  assert.deepEqual(h, { 'x-forwarded-for': '10.0.0.7', 'x-real-ip': '10.0.0.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'example.com', forwarded: 'for=10.0.0.7;proto=http' });
});

test('trusted: X-Forwarded-For is appended to, existing X-Real-IP and proto are kept', () => {
  const h: OutgoingHttpHeaders = { 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '1.1.1.1', 'x-forwarded-proto': 'https', forwarded: 'for=1.1.1.1' };
  applyForwardHeaders(h, { peer: '10.0.0.7', proto: 'http', host: 'example.com', trusted: true });
  assert.equal(h['x-forwarded-for'], '1.1.1.1, 10.0.0.7');
  assert.equal(h['x-real-ip'], '1.1.1.1');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-host'], 'example.com');
  assert.equal(h.forwarded, 'for=1.1.1.1, for=10.0.0.7;proto=http');
});

test('trusted without incoming headers behaves like untrusted', () => {
  const h: OutgoingHttpHeaders = {};
  applyForwardHeaders(h, { peer: '::1', proto: 'https', host: 'example.com', trusted: true });
  assert.deepEqual(h, { 'x-forwarded-for': '::1', 'x-real-ip': '::1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'example.com', forwarded: 'for="[::1]";proto=https' });
});

test('IPv4-mapped peers are reported as IPv4', () => {
  assert.equal(clientAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(clientAddress(undefined), '');
});
