import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, type Message } from '@dispenser/shared/ipc/messages';
import { ProcessPublisher } from '../../src/ipc/publisher.js';
import { config } from '@dispenser/shared/testing/config';

test('publisher: versions increase per kind and a publish resolves on applied ≥ its version', async () => {
  const sent: Message[] = [];
  const pub = new ProcessPublisher((raw) => sent.push(parseMessage(raw)!));
  const c = config([]);
  void pub.publishProxySettings(c.proxy);
  let firstDone = false;
  const first = pub.publishRoutes([]).then(() => (firstDone = true));
  const second = pub.publishRoutes([]);
  assert.deepEqual(sent.map((m) => [m.type, 'version' in m ? m.version : -1]), [['proxy-settings', 1], ['routes', 1], ['routes', 2]]);
  pub.handle({ type: 'applied', kind: 'certs', version: 5 });
  await new Promise((r) => setImmediate(r));
  assert.equal(firstDone, false, 'another kind does not resolve routes');
  pub.handle({ type: 'applied', kind: 'routes', version: 2 });
  await Promise.all([first, second]);
  assert.deepEqual(pub.proxySettings, c.proxy);
  await new ProcessPublisher(undefined).publishRoutes([]); // no IPC channel: resolves at once
});
