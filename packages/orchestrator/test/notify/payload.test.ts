import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactor } from '@dispenser/shared/config/redact';
import { notificationRequest } from '../../src/notify/payload.js';
import { signBody, verifySignature } from '../../src/notify/signature.js';
import type { NotifyEvent } from '../../src/notify/events.js';

const origin = { host: 'vm-1', instance: 'default' };
const at = new Date('2026-12-05T01:02:03.000Z');
const none = (t: string): string => t;
const failed: NotifyEvent = {
  event: 'deploy-rolled-back',
  service: 'web',
  code: 'ROLLOUT_UNHEALTHY',
  message: 'the rollout of web failed and was rolled back; the previous container keeps serving: <health> & more',
  details: { trigger: 'digest', image: 'registry.example.com/web:1' },
};

test('json: the event, service, code, message, details, host and time as one object', () => {
  const r = notificationRequest(failed, 'json', origin, at, none);
  assert.equal(r.headers['Content-Type'], 'application/json');
  assert.equal(r.headers['X-Dispenser-Event'], 'deploy-rolled-back');
  assert.deepEqual(JSON.parse(r.body), {
    event: 'deploy-rolled-back',
    title: 'deploy rolled back: web',
    message: failed.message,
    service: 'web',
    code: 'ROLLOUT_UNHEALTHY',
    details: { trigger: 'digest', image: 'registry.example.com/web:1' },
    host: 'vm-1',
    instance: 'default',
    time: '2026-12-05T01:02:03.000Z',
  });
});

test('slack: one `text` with the title in bold and Slack markup characters escaped', () => {
  const r = notificationRequest(failed, 'slack', origin, at, none);
  assert.deepEqual(JSON.parse(r.body), { text: '*deploy rolled back: web* on vm-1\nthe rollout of web failed and was rolled back; the previous container keeps serving: &lt;health&gt; &amp; more' });
});

test('ntfy: the message as plain text, title, tags and priority as headers', () => {
  const r = notificationRequest({ event: 'cert-expiring', message: 'the certificate served for a.example.com expires in 3 day(s) – renew' }, 'ntfy', { host: 'vm-ü', instance: 'x' }, at, none);
  assert.equal(r.body, 'the certificate served for a.example.com expires in 3 day(s) – renew');
  assert.equal(r.headers.Title, 'certificate expiring soon (vm-?)');
  assert.equal(r.headers.Priority, '5');
  assert.equal(r.headers.Tags, 'lock');
  assert.match(r.headers['Content-Type']!, /^text\/plain/);
});

test("every format scrubs the config's secrets from the message and details, and the JSON stays valid", () => {
  const scrub = redactor(['hunter2-db-password"x']);
  const e: NotifyEvent = { event: 'container-exited', service: 'db', message: 'exited; last log: password=hunter2-db-password"x', details: { line: 'echo hunter2-db…' } };
  for (const format of ['json', 'slack', 'ntfy'] as const) {
    const r = notificationRequest(e, format, origin, at, scrub);
    assert.doesNotMatch(r.body, /hunter2/, format);
    if (format !== 'ntfy') assert.doesNotThrow(() => JSON.parse(r.body), format);
  }
  assert.equal(JSON.parse(notificationRequest(e, 'json', origin, at, scrub).body).details.line, 'echo [secret]…');
});

test('the signature is the hex HMAC-SHA256 of the raw body; a receiver verifies it', () => {
  const body = '{"event":"deploy-failed"}';
  // printf '%s' "$body" | openssl dgst -sha256 -hmac k
  assert.equal(signBody(body, 'k'), 'sha256=bdd663508945cdbd2a498b2060aaf5b51cd4ace41e2de3a8b782d8eb009c5c54');
  assert.ok(verifySignature(body, 'k', signBody(body, 'k')));
  assert.ok(!verifySignature(body + ' ', 'k', signBody(body, 'k')));
  assert.ok(!verifySignature(body, 'other', signBody(body, 'k')));
  assert.ok(!verifySignature(body, 'k', undefined));
});
