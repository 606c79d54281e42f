#!/usr/bin/env node
// Node 20's --test does not expand globs, so collect the compiled test files here.
// One file at a time: suites share one Docker Engine, one registry and Pebble's fixed HTTP-01 port.
//   node scripts/run-tests.mjs            every test
//   node scripts/run-tests.mjs --unit     package tests only (no end-to-end suites)
//   node scripts/run-tests.mjs <filter>   only files whose path contains <filter>
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, sep } from 'node:path';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const roots = readdirSync('packages').map((p) => join('packages', p, 'dist', 'test'));
if (!unitOnly) roots.push(join('test', 'dist', 'e2e'));
// A compiled test whose source was moved or removed stays in dist until a clean build: skip it,
// or a renamed test would run twice (once under its old name, against old helpers).
const hasSource = (js) => existsSync(js.replace(`${sep}dist${sep}`, sep).replace(/\.js$/, '.ts'));
let files = roots.flatMap((r) => walk(r, [])).filter(hasSource).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
