#!/usr/bin/env node
// Runs every compiled benchmark (packages/*/dist/bench/*.bench.js, test/dist/bench/*.bench.js)
// one after another — they compete for the same two cores, so never in parallel.
//   node scripts/run-bench.mjs            every benchmark
//   node scripts/run-bench.mjs <filter>   only files whose path contains <filter>
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const dirs = [
  ...readdirSync('packages').map((p) => join('packages', p, 'dist', 'bench')),
  join('test', 'dist', 'bench'),
];
let files = dirs
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.bench.js')).map((f) => join(d, f)))
  .sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no benchmarks found (did the build run?)');
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
