import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '@dispenser/shared/ipc/messages';
import { OrchestratorRequests } from '../../src/supervisor/orchestrator-requests.js';

const facts = { configGeneration: 2, startedAt: '2026-12-05T00:00:00Z', busyWith: [], services: [] };

test('a status answer is matched to its request by id; no answer in time, or no orchestrator, is said so', async () => {
  const sent: Message[] = [];
  let alive = true;
  const r = new OrchestratorRequests((m) => (alive ? (sent.push(m), true) : false));
  const first = r.status(1000);
  const second = r.status(1000);
  const ids = sent.map((m) => (m.type === 'status-request' ? m.id : -1));
  assert.equal(new Set(ids).size, 2);
  r.handle({ type: 'status-reply', id: ids[1]!, facts: { ...facts, configGeneration: 7 } });
  r.handle({ type: 'status-reply', id: ids[0]!, facts });
  assert.deepEqual(await second, { ok: true, facts: { ...facts, configGeneration: 7 } });
  assert.deepEqual(await first, { ok: true, facts });
  assert.deepEqual(await r.status(20), { ok: false, reason: 'no answer within 0.02 s' });
  alive = false;
  assert.deepEqual(await r.status(1000), { ok: false, reason: 'it is restarting' });
});

test('log streams: chunks reach their sink, the orchestrator exiting ends them, cancel tells the orchestrator', () => {
  const sent: Message[] = [];
  const r = new OrchestratorRequests((m) => (sent.push(m), true));
  const events: string[] = [];
  const sink = (name: string) => ({ chunk: (s: string, t: string) => events.push(`${name} ${s} ${t}`), end: (e?: { code: string }) => events.push(`${name} end ${e?.code ?? 'ok'}`) });
  r.logs({ service: 'a', tail: 5 }, sink('a'));
  const cancelB = r.logs({ service: 'b', follow: true }, sink('b'));
  r.logs({ service: 'c', follow: true }, sink('c'));
  const [a, b] = sent as Array<Extract<Message, { type: 'logs-request' }>>;
  assert.deepEqual(a, { type: 'logs-request', id: a!.id, service: 'a', follow: false, tail: 5 });
  r.handle({ type: 'logs-chunk', id: a!.id, stream: 'stderr', text: 'x\n' });
  r.handle({ type: 'logs-end', id: a!.id });
  r.handle({ type: 'logs-chunk', id: a!.id, stream: 'stdout', text: 'late\n' });
  cancelB();
  assert.deepEqual(sent.at(-1), { type: 'logs-cancel', id: b!.id });
  r.orchestratorGone();
  assert.deepEqual(events, ['a stderr x\n', 'a end ok', 'c end ORCHESTRATOR_UNAVAILABLE']);
});
