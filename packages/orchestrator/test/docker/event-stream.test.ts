import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceFromEnv, LABELS } from '@dispenser/shared/instance';
import type { ContainerEngine, EngineEvent } from '../../src/docker/engine.js';
import { EngineEventStream } from '../../src/docker/event-stream.js';
import { captureLog } from '@dispenser/shared/testing/log';

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the engine event stream emits the start/die/destroy of this instance\'s containers only, and "reconnected" once the lost stream is back', async () => {
  const instance = instanceFromEnv({ DISPENSER_INSTANCE: 'fake-events' });
  const subs: { onEvent: (e: EngineEvent) => void; onEnd: (err?: Error) => void; unsubscribed: boolean }[] = [];
  const engine: Partial<ContainerEngine> = {
    subscribe: async (onEvent, onEnd) => {
      const sub = { onEvent, onEnd, unsubscribed: false };
      subs.push(sub);
      // like the real engine: ending the subscription ends the stream
      return () => {
        sub.unsubscribed = true;
        onEnd();
      };
    },
  };
  const { log, find } = captureLog();
  const stream = new EngineEventStream(engine as ContainerEngine, instance, log);
  const seen: string[] = [];
  let reconnected = 0;
  stream.on('container', (e) => seen.push(`${e.action} ${e.id}`));
  stream.on('reconnected', () => reconnected++);
  const running = stream.run();
  try {
    await until(() => subs.length === 1);
    const ours = { [LABELS.managed]: 'true', [LABELS.instance]: instance.name };
    const event = (action: string, id: string, attributes: Record<string, string>): EngineEvent => ({ type: 'container', action, id, attributes });
    subs[0]!.onEvent(event('start', 'a', ours));
    subs[0]!.onEvent(event('die', 'a', ours));
    subs[0]!.onEvent(event('destroy', 'a', ours));
    subs[0]!.onEvent(event('exec_start', 'a', ours));
    subs[0]!.onEvent(event('die', 'b', { ...ours, [LABELS.instance]: 'another-instance' }));
    subs[0]!.onEvent(event('die', 'c', { [LABELS.instance]: instance.name }));
    assert.deepEqual(seen, ['start a', 'die a', 'destroy a']);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(reconnected, 0, 'the first connection is no reconnection');

    subs[0]!.onEnd(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await until(() => reconnected === 1);
    assert.equal(subs.length, 2);
    assert.equal(find(/lost the Docker daemon event stream/).length, 1);
    subs[1]!.onEvent(event('start', 'd', ours));
    assert.deepEqual(seen.at(-1), 'start d');
  } finally {
    stream.stop();
  }
  await running;
  assert.equal(subs.at(-1)!.unsubscribed, true, 'stop() ends the subscription');
});
