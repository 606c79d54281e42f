/**
 * [[notify]] through the real CLI (issue 21 item 7): the daemon loads the webhook from
 * dispenser.toml, and a rejected reload reaches a loopback receiver, signed with a secret that
 * comes from a secret variable and never shows in the daemon's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { infra } from '@dispenser/shared/testing/infra';
import { startDaemon, type Daemon } from '@dispenser/shared/testing/daemon';
import { randomName, removeInstance } from '@dispenser/shared/testing/docker';
import { writeStack } from '../helpers/stack.js';

test('a rejected reload is POSTed to the [[notify]] webhook, signed; the secret stays out of the output', { timeout: 120_000 }, async (t) => {
  if (!infra(t, 'docker')) return;
  const instance = randomName('test-notify');
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const secret = `hmac-${randomName('key')}`;
  const main = `[proxy]\nenabled = false\n\n[[notify]]\nurl = "${url}"\nsecret = "\${ notify_secret }"\nevents = ["reload_rejected"]\n`;
  const stack = writeStack(main, {});
  writeFileSync(join(stack.dir, 'notify-secret.txt'), `${secret}\n`);
  stack.write('dispenser.vars', 'notify_secret = { source = "file", path = "notify-secret.txt" }\n');
  let daemon: Daemon | undefined;
  t.after(async () => {
    await daemon?.stop();
    removeInstance(instance);
    server.closeAllConnections();
    server.close();
    stack.remove();
  });

  daemon = startDaemon(['-c', stack.configFile], { DISPENSER_INSTANCE: instance });
  await daemon.waitForLog((l) => l.msg === 'dispenser ready', 60_000);
  stack.write('dispenser.toml', `delay = "often"\n${main}`);
  daemon.child.kill('SIGHUP');
  await daemon.waitForLog((l) => String(l.msg).startsWith('reload failed'), 30_000);
  for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));

  assert.equal(received.length, 1);
  const got = received[0]!;
  const body = JSON.parse(got.body) as { event: string; code: string; message: string; instance: string };
  assert.equal(body.event, 'reload-rejected');
  assert.equal(body.code, 'CONFIG_INVALID_VALUE');
  assert.match(body.message, /delay/);
  assert.equal(body.instance, instance);
  assert.equal(got.headers['x-dispenser-signature'], `sha256=${createHmac('sha256', secret).update(got.body).digest('hex')}`);
  const output = [...daemon.lines.map((l) => JSON.stringify(l)), ...daemon.text].join('\n');
  assert.doesNotMatch(output, new RegExp(secret));
});
