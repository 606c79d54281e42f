import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactor } from '@dispenser/shared/config/redact';
import { problemLine } from '@dispenser/shared/config/problem';
import { DispenserError } from '@dispenser/shared/errors';
import { fakeSecret, leakedPiece, loadWithSecret, SECRET_LENGTHS } from '@dispenser/shared/testing/secrets';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerEngine } from '../../src/docker/engine.js';
import type { DesiredService } from '../../src/reconcile/desired.js';
import { engineSteps, type RolloutContext } from '../../src/rollout/steps.js';
import { captureLog } from '@dispenser/shared/testing/log';

/** The failed candidate printed its environment (and a long line with a token near the 500-character cut). */
function failedRollout(secret: string, redact: ((text: string) => string) | undefined) {
  const engine = {
    containerLogs: async () => [`starting with TOKEN=${secret}`, `${'.'.repeat(490)}${secret}`, `auth failed for "${secret.slice(0, Math.max(8, secret.length - 5))}..."`, 'exiting'],
  } as unknown as ContainerEngine;
  const { log, lines } = captureLog();
  const ctx: RolloutContext = {
    engine,
    createAndStart: async () => 'new',
    removeContainer: async () => undefined,
    routes: { routeTo: async () => true },
    desired: { service: 'web', containerName: 'web', image: 'example/web:2' } as unknown as DesiredService,
    proxy: {} as RolloutContext['proxy'],
    network: 'dispenser',
    log,
    signal: new AbortController().signal,
    ...(redact ? { redact } : {}),
  };
  return { steps: engineSteps(ctx), lines };
}

test("a failed rollout's container log excerpt never shows a secret (8 to 200 characters)", async () => {
  for (const n of SECRET_LENGTHS) {
    const secret = fakeSecret(n);
    const { steps, lines } = failedRollout(secret, redactor([secret]));
    await steps.discard('new', new DispenserError('ROLLOUT_CONTAINER_EXITED', 'the new container exited with code 1'));
    const out = JSON.stringify(lines);
    assert.match(out, /rollout of web failed/);
    assert.match(out, /exiting/, 'the other lines are still there');
    assert.equal(leakedPiece(out, secret), undefined, `${n}: ${out}`);
  }
});

test('reload errors (one line per problem) never show a secret, whole or truncated (8 to 200 characters)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reload-redact-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const n of SECRET_LENGTHS) {
    const secret = fakeSecret(n);
    const base = join(dir, String(n));
    const result = await loadWithSecret(base, `[service]\nname = "\${ pw }"\nimage = "example/app:1"\nmemory = "\${ pw }"\n[dispenser]\nwatch = "\${ pw }"\n`, secret);
    assert.equal(result.ok, false);
    if (result.ok) continue;
    // what orchestrator-process logs and sends in `reloaded.errors`
    const errors = result.problems.map((p) => (result.redact ? result.redact(problemLine(p)) : problemLine(p)));
    assert.ok(errors.length >= 3);
    assert.equal(leakedPiece(errors.join('\n'), secret), undefined, `${n}:\n${errors.join('\n')}`);
  }
});
