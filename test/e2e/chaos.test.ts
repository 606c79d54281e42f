/**
 * The chaos scenarios of `npm run chaos` (test/chaos/scenarios.ts) as tests: one real daemon,
 * faults injected under load, each scenario's target asserted (0 failed requests; at most 1 in
 * 40 around a killed proxy worker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import { SCENARIOS, formatTable, startChaosStack, stopChaosStack, type ChaosStack, type ScenarioResult } from '../chaos/scenarios.js';

test('chaos scenarios under load (real CLI)', { timeout: 150_000 }, async (t) => {
  const env = infra(t, 'docker', 'registry');
  if (!env) return;
  let stack: ChaosStack | undefined;
  // an after hook, not finally: it also runs when the test times out
  t.after(async () => {
    if (stack) await stopChaosStack(stack);
  });
  stack = await startChaosStack(env);
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS) {
    await t.test(scenario.name, async (st) => {
      const r = await scenario.run(stack!);
      results.push(r);
      st.diagnostic(`${r.failed}/${r.total} failed, recovery ${r.recoveryMs} ms, target ${r.target}`);
      assert.ok(r.pass, `${r.scenario}: ${r.notes}`);
    });
  }
  t.diagnostic(`\n${formatTable(results)}`);
});
