/**
 * `npm run conformance`: every case against Dispenser, nginx and Caddy (those installed) in front
 * of the same recording backend; prints a table of what each did. Exits non-zero only when
 * Dispenser misses a case's safe expectation; differences with nginx or Caddy are information.
 *
 *   node packages/proxy/dist/test/conformance/cli.js [--only <id-substring>,...] [--targets dispenser,nginx,caddy]
 */
import { CASES, type Case } from './cases.js';
import { makeSuiteCert, runCase, startBackend, type Outcome } from './runner.js';
import { which } from '@dispenser/shared/testing/tools';
import { startCaddy, startDispenser, startNginx, type Target } from './targets.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('only')?.split(',').filter(Boolean);
const wanted = (opt('targets') ?? 'dispenser,nginx,caddy').split(',');
/** whole run bound: a wedged server must not hold the process forever */
const RUN_BOUND_MS = 15 * 60_000;

function cell(o: Outcome | undefined, width: number): string {
  if (!o) return ''.padEnd(width);
  const mark = o.skipped ? '-' : o.ok ? 'ok' : 'UNSAFE';
  const text = `${mark} ${o.skipped ? 'skipped' : o.got}`;
  return (text.length > width ? `${text.slice(0, width - 1)}…` : text).padEnd(width);
}

async function main(): Promise<number> {
  const cases: readonly Case[] = only ? CASES.filter((c) => only.some((x) => c.id.includes(x))) : CASES;
  const cert = makeSuiteCert();
  const backend = await startBackend();
  const notes: string[] = [];
  const columns: { name: string; results: Map<string, Outcome> | undefined }[] = [];
  const starters: [string, () => Promise<Target>][] = [
    ['dispenser', () => startDispenser(backend, cert)],
    ['nginx', () => startNginx(backend, cert)],
    ['caddy', () => startCaddy(backend, cert)],
  ];
  try {
    for (const [name, start] of starters) {
      if (!wanted.includes(name)) continue;
      if (name !== 'dispenser' && !which(name)) {
        notes.push(`${name}: not installed, column skipped`);
        columns.push({ name, results: undefined });
        continue;
      }
      let target: Target;
      try {
        target = await start();
      } catch (err) {
        notes.push(`${name}: did not start (${(err as Error).message}), column skipped`);
        columns.push({ name, results: undefined });
        continue;
      }
      const results = new Map<string, Outcome>();
      columns.push({ name, results });
      process.stderr.write(`${name}: `);
      try {
        for (const c of cases) {
          const o = await runCase(c, target, backend, cert);
          results.set(c.id, o);
          process.stderr.write(o.skipped ? '-' : o.ok ? '.' : 'x');
        }
      } finally {
        process.stderr.write('\n');
        await target.stop();
      }
    }
  } finally {
    await backend.stop();
  }

  const W = 44;
  const idW = Math.max(...cases.map((c) => c.id.length), 4);
  const expW = 50;
  const head = `${'case'.padEnd(idW)} | ${'safe result'.padEnd(expW)} | ${columns.map((c) => c.name.padEnd(W)).join(' | ')}`;
  console.log(head);
  console.log('-'.repeat(head.length));
  for (const c of cases) {
    const exp = c.expect.length > expW ? `${c.expect.slice(0, expW - 1)}…` : c.expect;
    console.log(`${c.id.padEnd(idW)} | ${exp.padEnd(expW)} | ${columns.map((col) => (col.results ? cell(col.results.get(c.id), W) : 'n/a'.padEnd(W))).join(' | ')}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log('');
  for (const col of columns) {
    if (!col.results) continue;
    for (const c of cases) {
      const o = col.results.get(c.id);
      if (o?.skipped) console.log(`${col.name} skipped ${c.id}: ${o.skipped}`);
      else if (o && !o.ok && col.name !== 'dispenser') console.log(`${col.name} unsafe ${c.id}: ${o.why}`);
    }
  }

  const ours = columns.find((c) => c.name === 'dispenser')?.results;
  if (!ours) return 0;
  const failed = cases.filter((c) => !ours.get(c.id)?.ok);
  for (const c of failed) console.log(`dispenser UNSAFE ${c.id}: ${ours.get(c.id)?.why}`);
  for (const col of columns) {
    if (!col.results) continue;
    const vals = [...col.results.values()];
    console.log(`${col.name}: ${vals.filter((o) => o.ok && !o.skipped).length} safe, ${vals.filter((o) => !o.ok).length} unsafe, ${vals.filter((o) => o.skipped).length} skipped of ${cases.length}`);
  }
  return failed.length ? 1 : 0;
}

const bound = setTimeout(() => {
  console.error(`conformance run exceeded ${RUN_BOUND_MS / 60_000} minutes`);
  process.exit(2);
}, RUN_BOUND_MS);
bound.unref();
main().then(
  (code) => {
    process.exitCode = code;
    // in-process servers may leave keep-alive timers behind: do not wait for them
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
