import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MallocTrimmer, mallocTrimUnavailable } from '../../src/tuning/malloc-trimmer.js';

function trimmer() {
  const traffic = { started: 0 };
  let trims = 0;
  return { traffic, trims: () => trims, t: new MallocTrimmer(traffic, () => trims++) };
}

test('trims on every tick that saw new requests, once more after they stop, then never while idle', () => {
  const { traffic, trims, t } = trimmer();
  assert.equal(t.tick(), false, 'an idle worker does not trim');
  traffic.started += 3;
  assert.equal(t.tick(), true);
  traffic.started += 1;
  assert.equal(t.tick(), true);
  assert.equal(t.tick(), true, 'one more after the traffic stopped: its memory is freed after the tick that saw it');
  assert.equal(t.tick(), false);
  assert.equal(t.tick(), false);
  assert.equal(trims(), 3);
});

test('without the addon the trimmer starts no timer', () => {
  const t = new MallocTrimmer({ started: 0 }, null);
  t.start(1);
  assert.equal((t as unknown as { timer?: unknown }).timer, undefined);
});

/**
 * A process that frees 25 MB of 64 KB blocks (socket-buffer sized) each pinned in place by a
 * small live one, as a worker's heap looks after a burst of traffic: glibc keeps those pages,
 * since none of them is at the top of the heap. Prints its RSS in MB before and after one tick.
 */
const FREED_BELOW_THE_TOP = `
  const { MallocTrimmer } = await import(${JSON.stringify(new URL('../../src/tuning/malloc-trimmer.js', import.meta.url).href)});
  let big = [];
  const pins = [];
  for (let i = 0; i < 400; i++) {
    big.push(Buffer.allocUnsafeSlow(64 * 1024).fill(1));
    pins.push(Buffer.allocUnsafeSlow(64).fill(1));
  }
  big = undefined;
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 50));
  const before = process.memoryUsage().rss;
  const trimmed = new MallocTrimmer({ started: 1 }).tick();
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ trimmed, beforeMb: before / 2 ** 20, afterMb: after / 2 ** 20, pins: pins.length }));
`;

test('a tick hands memory freed below the top of the C heap back to the system', (t) => {
  if (mallocTrimUnavailable) {
    assert.notEqual(process.env.DISPENSER_REQUIRE_NATIVE, '1', `the malloc-trim addon must load here: ${mallocTrimUnavailable}`);
    t.skip(`malloc-trim addon unavailable: ${mallocTrimUnavailable}`);
    return;
  }
  const out = execFileSync(process.execPath, ['--expose-gc', '--no-concurrent-array-buffer-sweeping', '--input-type=module', '-e', FREED_BELOW_THE_TOP], { encoding: 'utf8' });
  const { trimmed, beforeMb, afterMb } = JSON.parse(out) as { trimmed: boolean; beforeMb: number; afterMb: number };
  assert.equal(trimmed, true);
  assert.ok(beforeMb - afterMb > 15, `RSS ${beforeMb.toFixed(1)} → ${afterMb.toFixed(1)} MB: expected the ~25 MB freed to be returned`);
});
