import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, frames, LineSplitter, parseFrame, parseRequest } from '../../src/control/protocol.js';

test('requests: a valid one is read with its defaults', () => {
  assert.deepEqual(parseRequest('{"v":1,"id":1,"method":"status"}'), { ok: true, request: { v: 1, id: 1, method: 'status', params: {} } });
  const logs = parseRequest('{"v":1,"id":"a","method":"logs","params":{"service":"web","follow":true,"tail":10,"since":1700000000}}');
  assert.ok(logs.ok);
  assert.deepEqual(logs.request.params, { service: 'web', follow: true, tail: 10, since: 1700000000 });
});

test('requests: refusals carry a catalogue code and the id when it could be read', () => {
  const cases: Array<[string, string, string | number | null, RegExp]> = [
    ['not json', 'CONTROL_BAD_REQUEST', null, /not JSON/],
    ['{"v":2,"id":7,"method":"status"}', 'CONTROL_PROTOCOL_MISMATCH', 7, /version 1, the request has 2/],
    ['{"id":7,"method":"status"}', 'CONTROL_PROTOCOL_MISMATCH', 7, /the request has null/],
    ['{"v":1,"id":8,"method":"reboot"}', 'CONTROL_BAD_REQUEST', 8, /invalid request/],
    ['{"v":1,"id":9,"method":"logs","params":{}}', 'CONTROL_BAD_REQUEST', 9, /params\.service/],
    ['{"v":1,"id":9,"method":"logs","params":{"service":"web","tail":-1}}', 'CONTROL_BAD_REQUEST', 9, /params\.tail/],
    ['{"v":1,"id":10,"method":"status","params":{"watch":true,"extra":1}}', 'CONTROL_BAD_REQUEST', 10, /params/],
  ];
  for (const [line, code, id, message] of cases) {
    const r = parseRequest(line);
    assert.equal(r.ok, false, line);
    if (r.ok) continue;
    assert.equal(r.error.code, code, line);
    assert.equal(r.id, id, line);
    assert.match(r.error.message, message, line);
  }
});

test('frames survive the round trip; a frame of another version is not read', () => {
  for (const f of [frames.result(1, { a: 1 }), frames.event('x', { stream: 'stdout', text: 'hi\n' }), frames.end(2), frames.error(null, { code: 'CONTROL_BAD_REQUEST', message: 'no', hint: 'yes' })]) {
    const line = encodeFrame(f);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line per frame');
    assert.deepEqual(parseFrame(line.trim()), f);
  }
  assert.equal(parseFrame('{"v":2,"id":1,"type":"end"}'), undefined);
  assert.equal(parseFrame('{"v":1,"id":1,"type":"later"}'), undefined);
});

test('LineSplitter: lines across chunks, blank lines skipped, an overlong line refused', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('ab'), { lines: [], overflow: false });
  assert.deepEqual(s.push('c\n\nde'), { lines: ['abc'], overflow: false });
  assert.deepEqual(s.push('f\n'), { lines: ['def'], overflow: false });
  assert.deepEqual(s.push('01234567890'), { lines: [], overflow: true });
});

test('requests: a line that is JSON but not an object is a bad request, not another protocol version', () => {
  for (const line of ['[]', 'null', '42', '"status"', '[{"v":1,"id":1,"method":"status"}]']) {
    const parsed = parseRequest(line);
    assert.equal(parsed.ok, false, line);
    if (!parsed.ok) assert.deepEqual([parsed.id, parsed.error.code], [null, 'CONTROL_BAD_REQUEST'], line);
  }
});
