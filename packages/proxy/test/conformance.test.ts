import { after, before, describe, test } from 'node:test';
import type { Cert } from './helpers.js';
import type { RecordingBackend } from './conformance/backend.js';
import { CASES } from './conformance/cases.js';
import { makeSuiteCert, runCase, skipReason, startBackend } from './conformance/runner.js';
import { startDispenser, type Target } from './conformance/targets.js';

/**
 * The proxy conformance suite (test/conformance/cases.ts) against Dispenser's proxy worker, in
 * this process. Each case asserts its safe outcome. `npm run conformance` runs the same cases
 * against nginx and Caddy too.
 */

describe('proxy conformance', () => {
  let backend: RecordingBackend;
  let target: Target;
  let cert: Cert;
  before(async () => {
    cert = makeSuiteCert();
    backend = await startBackend();
    target = await startDispenser(backend, cert);
  });
  after(async () => {
    await target?.stop();
    await backend?.stop();
  });

  for (const c of CASES) {
    test(`${c.id}: ${c.expect}`, { timeout: (c.timeoutMs ?? 8_000) + 5_000 }, async (t) => {
      const skipped = skipReason(c, target);
      if (skipped) {
        t.skip(skipped);
        return;
      }
      const o = await runCase(c, target, backend, cert);
      if (!o.ok) throw new Error(`${c.id}: ${o.why} (got: ${o.got})`);
    });
  }
});
