import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadResult } from '@dispenser/shared/config/load';
import { createLogger } from '@dispenser/shared/log';
import { infra } from '@dispenser/shared/testing/infra';
import { runOrchestratorProcess } from '../src/orchestrator-process.js';
import { config } from '@dispenser/shared/testing/config';
import { harness } from './helpers/docker.js';

test('reload-rejected goes to the running config’s targets with the scrubbed problems; a valid reload replaces the targets', { timeout: 60_000 }, async (t) => {
  if (!infra(t, 'docker')) return;
  const h = harness('notify-reload');
  const log = createLogger('orchestrator', { test: 'notify-reload' });
  log.level = 'warn';
  const posts: Array<{ url: string; body: string }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    posts.push({ url, body: init.body as string });
    return new Response(null, { status: 204 });
  }) as unknown as typeof globalThis.fetch;
  const results: LoadResult[] = [
    { ok: true, config: config([], { notify: [{ url: 'http://old.test/hook', format: 'json' }] }) },
    {
      ok: false,
      problems: [{ code: 'CONFIG_INVALID_VALUE', file: '/x/dispenser.toml', line: 2, column: 7, message: 'invalid "delay": got "pw-1234567890"' }],
      redact: (text) => text.replaceAll('pw-1234567890', '[secret]'),
    },
    { ok: true, config: config([], { notify: [{ url: 'http://new.test/hook', format: 'json', events: ['reload-rejected'] }] }) },
    { ok: false, problems: [{ code: 'CONFIG_TOML_SYNTAX', file: '/x/dispenser.toml', line: 1, column: 1, message: 'unexpected character' }] },
  ];
  try {
    const proc = (await runOrchestratorProcess({
      configFile: '/x/dispenser.toml',
      load: async () => results.shift()!,
      engine: h.engine,
      channel: undefined,
      log,
      exit: () => undefined,
      createComponents: () => [],
      orchestratorOptions: { instance: h.instance },
      notifyOptions: { fetch },
    }))!;
    h.orchestrators.push(proc.orchestrator);
    await proc.reload();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(posts.length, 1);
    const body = JSON.parse(posts[0]!.body) as Record<string, unknown>;
    assert.equal(posts[0]!.url, 'http://old.test/hook');
    assert.equal(body.event, 'reload-rejected');
    assert.equal(body.code, 'CONFIG_INVALID_VALUE');
    assert.match(String(body.message), /^reload 1 rejected; the running one stays:\n\/x\/dispenser\.toml:2:7: invalid "delay": got "\[secret\]"/);
    assert.doesNotMatch(posts[0]!.body, /pw-1234567890/);

    await proc.reload();
    await proc.reload();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(posts.slice(1).map((p) => [p.url, JSON.parse(p.body).event]), [['http://new.test/hook', 'reload-rejected']]);
    await proc.drain();
  } finally {
    h.cleanup();
  }
});
