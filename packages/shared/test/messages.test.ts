import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelope, parseMessage } from '../src/ipc/messages.js';

test('a valid routes snapshot survives the round trip', () => {
  const msg = { type: 'routes' as const, version: 3, routes: [{ service: 'web', host: 'a.test', path: '/', upstream: { host: '172.28.0.5', port: 80 } }] };
  assert.deepEqual(parseMessage(JSON.parse(JSON.stringify(envelope(msg)))), msg);
});

test('messages from another protocol version or with a bad shape are rejected', () => {
  assert.equal(parseMessage({ dispenser: 99, msg: { type: 'reload' } }), undefined);
  assert.equal(parseMessage({ dispenser: 1, msg: { type: 'routes', version: -1, routes: [] } }), undefined);
  assert.equal(parseMessage('reload'), undefined);
});
