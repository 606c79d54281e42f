import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NotifyTarget } from '@dispenser/shared/config/types';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';
import { verifySignature } from '../../src/notify/signature.js';
import { captureLog } from '@dispenser/shared/testing/log';

interface Call {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A fetch that answers from a script (a status, a status with headers, an error, or a promise to hold). */
function scriptedFetch(script: Array<number | { status: number; headers?: Record<string, string> } | Error | Promise<number>>, fallback = 200) {
  const calls: Call[] = [];
  const fetch: typeof globalThis.fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string>, body: init.body as string });
    let step = script.shift() ?? fallback;
    if (step instanceof Promise) step = await step;
    if (step instanceof Error) throw step;
    const s = typeof step === 'number' ? { status: step } : step;
    return new Response(null, { status: s.status, ...(s.headers ? { headers: s.headers } : {}) });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

function setup(targets: NotifyTarget[], fetch: typeof globalThis.fetch, extra: Partial<NotifierOptions> = {}) {
  const { log, lines } = captureLog();
  const delays: number[] = [];
  const notifier = new Notifier({ log, instance: 'test', host: 'vm-1', fetch, sleep: async (ms) => (delays.push(ms), true), now: () => Date.parse('2026-12-05T00:00:00Z'), ...extra });
  notifier.setTargets(targets, (t) => t.replaceAll('topsecret-value', '[secret]'));
  return { notifier, lines, delays };
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
};

const url = 'https://hooks.example.com/services/T0/B0/topsecret-token?key=abc';

test('retries 5xx and 429 with doubling delays or the Retry-After asked for, then delivers once', async () => {
  const f = scriptedFetch([500, 502, { status: 429, headers: { 'Retry-After': '7' } }, 200]);
  const { notifier, delays } = setup([{ url, format: 'json' }], f.fetch);
  notifier.emit({ event: 'deploy-failed', service: 'web', message: 'deploying web failed' });
  await until(() => f.calls.length === 4, 'four attempts');
  assert.deepEqual(delays, [1000, 2000, 7000]);
  assert.equal(new Set(f.calls.map((c) => c.body)).size, 1, 'the same body every time');
  assert.equal(JSON.parse(f.calls[0]!.body).time, '2026-12-05T00:00:00.000Z');
});

test('after the last attempt the notification is dropped with NOTIFY_FAILED; the log shows the origin, never the path, query or secret', async () => {
  const f = scriptedFetch([new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') }), 503, 503]);
  const { notifier, lines, delays } = setup([{ url, format: 'json', secret: 'topsecret-value' }], f.fetch, { attempts: 3 });
  notifier.emit({ event: 'deploy-failed', message: 'x' });
  await until(() => lines.some((l) => l.code === 'NOTIFY_FAILED'), 'NOTIFY_FAILED logged');
  assert.equal(f.calls.length, 3);
  assert.deepEqual(delays, [1000, 2000]);
  const failed = lines.find((l) => l.code === 'NOTIFY_FAILED')!;
  assert.equal(failed.target, 'https://hooks.example.com');
  assert.match(failed.msg, /answered 503 after 3 attempts/);
  const all = lines.map((l) => JSON.stringify(l)).join('\n');
  assert.doesNotMatch(all, /topsecret|services\/T0|key=abc/);
});

test('another 4xx is not retried (NOTIFY_REJECTED)', async () => {
  const f = scriptedFetch([404]);
  const { notifier, lines } = setup([{ url, format: 'slack' }], f.fetch);
  notifier.emit({ event: 'reload-rejected', message: 'x' });
  await until(() => lines.some((l) => l.code === 'NOTIFY_REJECTED'), 'NOTIFY_REJECTED logged');
  assert.equal(f.calls.length, 1);
});

test('a target with events gets only those; a target without gets every event', async () => {
  const f = scriptedFetch([]);
  const { notifier } = setup([{ url: 'http://a.test/', format: 'json', events: ['deploy-failed', 'cron-failed'] }, { url: 'http://b.test/', format: 'json' }], f.fetch);
  notifier.emit({ event: 'deploy-succeeded', message: 'ok' });
  notifier.emit({ event: 'cron-failed', message: 'cron' });
  await until(() => f.calls.length === 3, 'three posts');
  assert.deepEqual(f.calls.map((c) => `${c.url} ${JSON.parse(c.body).event}`).sort(), ['http://a.test/ cron-failed', 'http://b.test/ cron-failed', 'http://b.test/ deploy-succeeded']);
});

test('with a secret each body carries X-Dispenser-Signature, which verifies against the raw body', async () => {
  const f = scriptedFetch([]);
  const { notifier } = setup([{ url, format: 'json', secret: 's3cr3t-shared' }, { url: 'http://plain.test/', format: 'json' }], f.fetch);
  notifier.emit({ event: 'deploy-succeeded', message: 'ok' });
  await until(() => f.calls.length === 2, 'two posts');
  const signed = f.calls.find((c) => c.url === url)!;
  assert.ok(verifySignature(signed.body, 's3cr3t-shared', signed.headers['X-Dispenser-Signature']));
  assert.equal(f.calls.find((c) => c.url !== url)!.headers['X-Dispenser-Signature'], undefined);
});

test('emit returns at once while the webhook hangs; the queue is bounded and drops the oldest with a counted warning', async () => {
  let release!: (status: number) => void;
  const held = new Promise<number>((r) => (release = r));
  const f = scriptedFetch([held]);
  const { notifier, lines } = setup([{ url, format: 'json' }], f.fetch, { queueSize: 3 });
  const started = performance.now();
  for (let i = 1; i <= 6; i++) notifier.emit({ event: 'container-exited', message: `exit ${i}` });
  assert.ok(performance.now() - started < 50, 'emitting did not wait for the webhook');
  await until(() => f.calls.length === 1, 'the first one is in flight');
  // 1 in flight, 2..6 offered to a queue of 3: 2 and 3 dropped
  const full = lines.filter((l) => l.code === 'NOTIFY_QUEUE_FULL');
  assert.equal(full.length, 1, 'one warning when dropping starts');
  release(200);
  await until(() => f.calls.length === 4, 'the rest delivered');
  assert.deepEqual(f.calls.map((c) => JSON.parse(c.body).message), ['exit 1', 'exit 4', 'exit 5', 'exit 6']);
  await until(() => lines.some((l) => l.code === 'NOTIFY_QUEUE_FULL' && l.dropped === 2), 'the count once the queue is empty');
});

test('a reload keeps the queue of a URL that stays (with its new settings) and drops the queue of a removed one', async () => {
  let release!: (status: number) => void;
  const held = new Promise<number>((r) => (release = r));
  const f = scriptedFetch([held]);
  const { notifier } = setup([{ url, format: 'json' }], f.fetch);
  notifier.emit({ event: 'deploy-failed', message: 'first' });
  notifier.emit({ event: 'deploy-failed', message: 'second' });
  await until(() => f.calls.length === 1, 'in flight');
  notifier.setTargets([{ url, format: 'slack', secret: 'new-secret' }], (t) => t);
  release(200);
  await until(() => f.calls.length === 2, 'the queued one is sent after the reload');
  assert.deepEqual(JSON.parse(f.calls[1]!.body), { text: '*deploy failed* on vm-1\nsecond' });
  assert.ok(verifySignature(f.calls[1]!.body, 'new-secret', f.calls[1]!.headers['X-Dispenser-Signature']));

  let release2!: (status: number) => void;
  const g = scriptedFetch([new Promise<number>((r) => (release2 = r))]);
  const other = setup([{ url: 'http://gone.test/', format: 'json' }], g.fetch);
  other.notifier.emit({ event: 'deploy-failed', message: 'a' });
  other.notifier.emit({ event: 'deploy-failed', message: 'b' });
  await until(() => g.calls.length === 1, 'in flight');
  other.notifier.setTargets([], (t) => t);
  release2(200);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(g.calls.length, 1, 'nothing more is sent to a removed target');
});
