import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineBuffer, LogDemuxer, MAX_LINE_CHARS } from '../../src/docker/log-demux.js';

const frame = (stream: 1 | 2, text: string): Buffer => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

test('LogDemuxer: frames split anywhere across chunks come out whole, by stream', () => {
  const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n')]);
  for (let cut = 1; cut < all.length; cut++) {
    const d = new LogDemuxer(false);
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))].map((p) => `${p.stream}:${p.data.toString()}`);
    assert.deepEqual(got, ['stdout:out one\n', 'stderr:err one\n', 'stdout:out two\n'], `cut at ${cut}`);
  }
});

test('LogDemuxer: a TTY container sends raw bytes, all stdout', () => {
  assert.deepEqual(new LogDemuxer(true).push(Buffer.from('raw\n')).map((p) => [p.stream, p.data.toString()]), [['stdout', 'raw\n']]);
});

test('LineBuffer: whole lines per stream, the rest at flush', () => {
  const b = new LineBuffer();
  assert.equal(b.push('stdout', 'tok'), undefined);
  assert.equal(b.push('stderr', 'warn\npart'), 'warn\n');
  assert.equal(b.push('stdout', 'en=x\nnext'), 'token=x\n');
  assert.deepEqual(b.flush(), [
    { stream: 'stdout', text: 'next' },
    { stream: 'stderr', text: 'part' },
  ]);
  assert.deepEqual(b.flush(), []);
});

test('LineBuffer: a character split across two frames comes out whole', () => {
  const b = new LineBuffer();
  const bytes = Buffer.from('café ✓\n');
  const at = bytes.indexOf(0xe2) + 1; // inside the three bytes of ✓
  assert.equal(b.push('stdout', bytes.subarray(0, at)), undefined);
  assert.equal(b.push('stdout', bytes.subarray(at)), 'café ✓\n');
});

test('LineBuffer: output without newlines is passed on, not buffered without end', () => {
  const b = new LineBuffer();
  const bar = '\r[#####     ] 50%'.repeat(100);
  let got = '';
  for (let i = 0; i < 100; i++) got += b.push('stdout', Buffer.from(bar)) ?? '';
  assert.ok(got.length >= bar.length * 100 - MAX_LINE_CHARS, `only ${got.length} characters came out`);
});
