import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyWorker } from '../../src/proxy-worker.js';
import { NO_TUNING, type TuningHooks } from '../../src/tuning/index.js';
import { tuningOff } from '../../src/tuning/switches.js';
import { captureLog } from '@dispenser/shared/testing/log';
import { get, route, startBackend, testSettings } from '../helpers.js';

test('benchmark switch: only known piece names are turned off; unset turns nothing off', () => {
  assert.deepEqual([...tuningOff('quick-ack, malloc-trim,nonsense,')], ['quick-ack', 'malloc-trim']);
  assert.equal(tuningOff(undefined).size, 0);
  assert.equal(tuningOff('').size, 0);
});

/**
 * The scavenge pacer bounds a worker's memory only if it sees every body byte forwarded: the
 * hooks get each upstream response and every body chunk, both ways.
 */
test('the tuning hooks see every upstream response and every body byte; without tuning the bytes are the same', async (t) => {
  const payload = 'x'.repeat(200_000);
  const be = await startBackend('be', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${n}:${payload}`);
    });
  });
  t.after(() => be.close());
  const seen = { responses: 0, bytes: 0 };
  const counting: TuningHooks = { upstreamResponse: () => void seen.responses++, bodyBytes: (n) => void (seen.bytes += n) };
  const bodies: string[] = [];
  for (const tuning of [counting, NO_TUNING]) {
    const w = new ProxyWorker(captureLog({ level: 'info', component: 'proxy' }).log, [], tuning);
    await w.apply({ type: 'proxy-settings', version: 1, settings: testSettings() });
    await w.apply({ type: 'routes', version: 1, routes: [route('t.test', '/', be.port)] });
    const r = await get(w.listeners.httpPort!, '/', { host: 't.test' }, 'POST', 'y'.repeat(50_000));
    await w.drain(100);
    assert.equal(r.status, 200);
    bodies.push(r.body);
  }
  assert.equal(bodies[0], `50000:${payload}`);
  assert.equal(bodies[1], bodies[0], 'the same response without tuning');
  assert.equal(seen.responses, 1);
  assert.equal(seen.bytes, 50_000 + bodies[0]!.length);
});
