/**
 * `npm run chaos`: starts one real daemon on a loopback stack, runs every chaos scenario under
 * load (bounded in requests and time), prints a table and exits 1 when a target is missed.
 *   npm run chaos                      every scenario
 *   node test/dist/chaos/run.js worker only scenarios whose name contains "worker"
 * Needs the test infrastructure (Docker, the loopback registry): scripts/infra/start.sh.
 */
import { infraEnv } from '@dispenser/shared/testing/infra';
import { ENGINE_SCENARIOS, SCENARIOS, formatTable, startChaosStack, stopChaosStack, type ChaosStack, type ScenarioResult } from './scenarios.js';

const filters = process.argv.slice(2);
// the engine restart goes last: it stops every container on this machine's engine
const all = [...SCENARIOS, ...ENGINE_SCENARIOS];
const scenarios = filters.length ? all.filter((s) => filters.some((f) => s.name.includes(f))) : all;
if (scenarios.length === 0) {
  console.error(`no scenario matches ${filters.join(', ')}; scenarios: ${all.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const started = Date.now();
const results: ScenarioResult[] = [];
let stack: ChaosStack | undefined;
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.error('interrupted: cleaning up after the current scenario');
});
try {
  stack = await startChaosStack(infraEnv());
  for (const s of scenarios) {
    if (interrupted) break;
    process.stdout.write(`${s.name} ... `);
    const r = await s.run(stack);
    results.push(r);
    console.log(`${r.pass ? 'ok' : 'FAIL'} (${r.failed}/${r.total} failed, recovery ${r.recoveryMs} ms)`);
  }
} catch (e) {
  console.error(`chaos run aborted: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  if (stack) await stopChaosStack(stack);
}
console.log(`\n${formatTable(results)}\n\n${results.length} scenario(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (results.some((r) => !r.pass) || results.length < scenarios.length) process.exitCode = 1;
