import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '@dispenser/shared/config/types';
import { redactor } from '@dispenser/shared/config/redact';
import { infra } from '@dispenser/shared/testing/infra';
import { Notifier } from '../../src/notify/notifier.js';
import { verifySignature } from '../../src/notify/signature.js';
import { config, service } from '@dispenser/shared/testing/config';
import { captureLog } from '@dispenser/shared/testing/log';
import { harness, rand, TEST_LABEL } from '../helpers/docker.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on loopback that answers each request as `answer` says (undefined: never answers). */
async function receiver(answer: (n: number) => number | undefined): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const status = answer(received.length);
      if (status !== undefined) res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/t0k3n-in-path`, received };
}

function buildImage(ref: string, base: string, cmd: string[]): void {
  const lines = [`FROM ${base}`, `LABEL ${TEST_LABEL}`, 'RUN mkdir -p /www && echo ok > /www/index.html && echo ok > /www/health', `CMD ${JSON.stringify(cmd)}`];
  execFileSync('docker', ['build', '-q', '-t', ref, '-'], { input: lines.join('\n'), env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['pipe', 'ignore', 'pipe'] });
  execFileSync('docker', ['push', '-q', ref], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
};

test('real events are POSTed: a failed rollout (signed, retried past two 500s) and an unexpected exit (slack); a hanging webhook delays no deploy', { timeout: 240_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  const h = harness('notify');
  const repo = `${env.registry}/notify-test-${rand()}`;
  h.images.push(`${repo}:good`, `${repo}:exits`);
  const stateDir = mkdtempSync(join(tmpdir(), 'notify-state-'));
  const flaky = await receiver((n) => (n <= 2 ? 500 : 200));
  // never answers: its first request stays open until the notifier stops
  const hanging = await receiver(() => undefined);
  const chat = await receiver(() => 200);
  const { log, lines } = captureLog();
  const notifier = new Notifier({ log, instance: h.instance.name, retryBaseMs: 100, timeoutMs: 120_000 });
  const secret = 'DB-PASSWORD-9f8e7d6c';
  const scrub = redactor([secret, 'hmac-shared-key']);
  notifier.setTargets(
    [
      { url: flaky.url, format: 'json', events: ['deploy-rolled-back'], secret: 'hmac-shared-key' },
      { url: hanging.url, format: 'json' },
      { url: chat.url, format: 'slack', events: ['container-exited'] },
    ],
    scrub,
  );
  const web = (image: string): ServiceConfig =>
    service('web', {
      image,
      dispenser: { watch: true, initialize: 'immediately', pull: 'on-startup', strategy: 'rollout' },
      proxy: { host: 'web.notify.test', path: '/', servicePort: 8080, healthPath: '/health', healthIntervalMs: 250, healthTimeoutMs: 1000, deployTimeoutMs: 30_000, drainTimeoutMs: 500 },
    });
  try {
    buildImage(`${repo}:good`, env.baseImage, ['httpd', '-f', '-p', '8080', '-h', '/www']);
    buildImage(`${repo}:exits`, env.baseImage, ['sh', '-c', `echo "fatal: cannot connect with password ${secret}" >&2; exit 3`]);
    const o = h.make({ events: notifier });
    o.setRedactor(scrub);

    void o.watchEngine();
    // a plain service that exits 3 right after its start: restart = "no", so it stays down
    const worker = service('worker', { image: `${repo}:exits` });
    const first = await o.reconcile(config([web(`${repo}:good`), worker], { stateDir }));
    assert.deepEqual(first.outcomes.filter((x) => !x.ok), []);
    await until(() => chat.received.length === 1, 15_000, 'container-exited told to the slack webhook');
    const text = (JSON.parse(chat.received[0]!.body) as { text: string }).text;
    assert.match(text, /^\*container exited unexpectedly: worker\* on .+\n.*exited with code 3/);
    assert.match(text, /\[secret\]/, "the container's last log lines come scrubbed");
    assert.doesNotMatch(text, new RegExp(secret));
    // the hanging webhook got deploy-succeeded and never answers; the deploy did not wait for it
    await until(() => hanging.received.length === 1, 5000, 'the hanging webhook got deploy-succeeded');
    assert.equal(JSON.parse(hanging.received[0]!.body).event, 'deploy-succeeded');

    const started = Date.now();
    const r = await o.reconcile(config([web(`${repo}:exits`), worker], { stateDir }), 'reload');
    assert.equal(r.outcomes.find((x) => x.service === 'web')?.error?.code, 'ROLLOUT_CONTAINER_EXITED');
    assert.ok(Date.now() - started < 20_000, `the failed rollout took ${Date.now() - started} ms with a webhook hanging`);
    assert.equal(hanging.received.length, 1, 'the next events wait behind the hanging one, in its own queue');

    await until(() => flaky.received.length === 3, 10_000, 'delivered on the third try');
    const got = flaky.received[2]!;
    const body = JSON.parse(got.body) as Record<string, unknown>;
    assert.equal(body.event, 'deploy-rolled-back');
    assert.equal(body.service, 'web');
    assert.equal(body.code, 'ROLLOUT_CONTAINER_EXITED');
    assert.match(String(body.message), /previous container keeps serving/);
    assert.ok(verifySignature(got.body, 'hmac-shared-key', got.headers['x-dispenser-signature'] as string), 'the signature verifies');
    assert.equal(got.headers['x-dispenser-event'], 'deploy-rolled-back');
    assert.deepEqual(flaky.received.map((x) => x.body), [got.body, got.body, got.body], 'the same body each try');
    assert.doesNotMatch(JSON.stringify(lines), /t0k3n-in-path|hmac-shared-key/, 'no token or secret in the log');
  } finally {
    notifier.stop();
    for (const s of [flaky.server, hanging.server, chat.server]) {
      s.closeAllConnections();
      s.close();
    }
    h.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
