import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTES_PER_REQUEST, MAX_BYTES, MIN_BYTES, ScavengePacer } from '../../src/tuning/scavenge-pacer.js';
import { proxyWorkerExecArgv } from '../../src/tuning/exec-argv.js';

const KB64 = 64 * 1024;

function pacer(inFlight: number) {
  const calls: unknown[] = [];
  const traffic = { inFlight };
  return { calls, traffic, p: new ScavengePacer(traffic, (options) => calls.push(options)) };
}

/** How many 64 KB chunks go by before the first scavenge. */
function chunksUntilScavenge(inFlight: number): number {
  const { calls, p } = pacer(inFlight);
  for (let n = 1; n <= 1000; n++) {
    p.add(KB64);
    if (calls.length) return n;
  }
  return Infinity;
}

test('a minor GC once per 2 MB of body bytes while few requests are in flight', () => {
  const { calls, p } = pacer(4);
  for (let i = 0; i < MIN_BYTES / KB64 - 1; i++) p.add(KB64);
  assert.equal(calls.length, 0, 'nothing before 2 MB');
  p.add(KB64);
  assert.deepEqual(calls, [{ type: 'minor' }]);
  for (let i = 0; i < MIN_BYTES / KB64; i++) p.add(KB64);
  assert.equal(calls.length, 2, 'the count starts again after each scavenge');
});

test('the allowance grows with the requests in flight, up to 16 MB', () => {
  assert.equal(chunksUntilScavenge(1), MIN_BYTES / KB64);
  assert.equal(chunksUntilScavenge(100), (100 * BYTES_PER_REQUEST) / KB64);
  assert.equal(chunksUntilScavenge(10_000), MAX_BYTES / KB64);
});

test('the allowance follows the live in-flight count', () => {
  const { calls, traffic, p } = pacer(100);
  for (let i = 0; i < 50; i++) p.add(KB64);
  assert.equal(calls.length, 0);
  traffic.inFlight = 10; // most requests finished: 3.1 MB counted is now over the 2 MB allowance
  p.add(KB64);
  assert.equal(calls.length, 1);
});

test('without an exposed gc() nothing happens', () => {
  const p = new ScavengePacer({ inFlight: 0 }, undefined);
  for (let i = 0; i < 1000; i++) p.add(KB64);
});

test('proxy workers run with gc() exposed, so the pacer is active there', () => {
  assert.ok(proxyWorkerExecArgv.includes('--expose-gc'));
});
