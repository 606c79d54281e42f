#!/usr/bin/env node
// Runs every compiled benchmark (packages/*/dist/bench/*.bench.js) one after another.
//   node scripts/run-bench.mjs [filter]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
let files = readdirSync('packages')
  .map((p) => join('packages', p, 'dist', 'bench'))
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.bench.js')).map((f) => join(d, f)))
  .sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no benchmarks found (did the build run?)');
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  console.log(`\n# ${f}`);
  const r = spawnSync(process.execPath, [f], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
