import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelope, messageSchema, messageTypes, openEnvelope, parseMessage } from '../../src/ipc/messages.js';

test('a valid routes snapshot survives the round trip', () => {
  const msg = { type: 'routes' as const, version: 3, routes: [{ service: 'web', host: 'a.test', path: '/', upstream: { host: '172.28.0.5', port: 80 } }] };
  assert.deepEqual(parseMessage(JSON.parse(JSON.stringify(envelope(msg)))), msg);
});

test('messages from another protocol version or with a bad shape are rejected', () => {
  assert.equal(parseMessage({ dispenser: 99, msg: { type: 'reload' } }), undefined);
  assert.equal(parseMessage({ dispenser: 1, msg: { type: 'routes', version: -1, routes: [] } }), undefined);
  assert.equal(parseMessage('reload'), undefined);
});

test('the zod-free list of message types matches the schemas', () => {
  assert.deepEqual(messageSchema.options.map((o) => o.shape.type.value).sort(), [...messageTypes].sort());
});

test('openEnvelope (proxy workers) takes a known message type of this protocol and refuses the rest', () => {
  const msg = { type: 'drain' as const, timeoutMs: 100 };
  assert.deepEqual(openEnvelope(JSON.parse(JSON.stringify(envelope(msg)))), msg);
  assert.equal(openEnvelope({ dispenser: 99, msg }), undefined, 'another protocol version');
  assert.equal(openEnvelope({ dispenser: 1, msg: { type: 'shutdown-now' } }), undefined, 'unknown type');
  assert.equal(openEnvelope({ dispenser: 1, msg: 'drain' }), undefined);
  assert.equal(openEnvelope({ dispenser: 1 }), undefined);
  assert.equal(openEnvelope(null), undefined);
});
