import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@dispenser/shared/log';
import { serviceManager, type NotifyRunner } from '../../src/supervisor/systemd.js';

const log = createLogger('supervisor');

test('notifications go out one at a time, in call order, even when a helper is slow', async () => {
  const sent: string[] = [];
  const running: Array<() => void> = [];
  // each helper "exits" only when the test says so; a second one must not start before that
  const run: NotifyRunner = (args, done) => {
    sent.push(args.slice(1).map((a) => a.split('=')[0]).join(' '));
    running.push(() => done(null));
  };
  const sm = serviceManager(log, { NOTIFY_SOCKET: '/run/notify' }, run);
  sm.reloading();
  sm.ready();
  sm.stopping();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, ['RELOADING MONOTONIC_USEC'], 'READY waits until RELOADING has been delivered');
  running.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, ['RELOADING MONOTONIC_USEC', 'READY']);
  running.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, ['RELOADING MONOTONIC_USEC', 'READY', 'STOPPING']);
});

test('a failing helper does not block the ones after it', async () => {
  const sent: string[] = [];
  const run: NotifyRunner = (args, done) => {
    sent.push(args[1]!);
    done(sent.length === 1 ? new Error('no socket') : null);
  };
  const sm = serviceManager(log, { NOTIFY_SOCKET: '/run/notify' }, run);
  sm.ready();
  sm.stopping();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(sent, ['READY=1', 'STOPPING=1']);
});

test('without NOTIFY_SOCKET nothing runs', () => {
  let calls = 0;
  const sm = serviceManager(log, {}, () => calls++);
  sm.ready();
  sm.reloading();
  sm.stopping();
  assert.equal(calls, 0);
});
