#!/usr/bin/env node
// Runs every compiled benchmark (packages/*/dist/bench/*.bench.js, test/dist/bench/*.bench.js)
// one after another — they compete for the same two cores, so never in parallel.
//   node scripts/run-bench.mjs            every benchmark
//   node scripts/run-bench.mjs <filter>   only files whose path contains <filter>
// The orchestrator's benchmarks need the test infrastructure (scripts/infra/start.sh): this builds
// the test base image when it is missing and stops with what to do when the engine or the
// registry does not answer.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { infraEnv } from '@dispenser/shared/testing/infra';

// The orchestrator's benchmarks run containers from the test base image and push to the test
// registry, as its Docker tests do; the proxy's need neither.
const NEEDS_INFRA = join('packages', 'orchestrator', 'dist', 'bench');

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
const needing = files.filter((f) => f.startsWith(NEEDS_INFRA));
if (needing.length > 0) checkInfra(needing);
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

/**
 * Builds the test base image if it is missing and checks that the engine and the registry answer,
 * so a benchmark does not fail half-way through on a bare machine.
 */
function checkInfra(needing) {
  const fix = 'start the test infrastructure with `bash scripts/infra/start.sh` (as root), or leave these benchmarks out with a filter (`npm run bench -- proxy`)';
  const stop = (why) => {
    console.error(`${needing.join(', ')}: ${why}; ${fix}`);
    process.exit(1);
  };
  const env = infraEnv();
  if (spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 10_000 }).status !== 0) {
    stop('need the Docker engine, which does not answer');
  }
  if (spawnSync('bash', ['scripts/infra/base-image.sh'], { stdio: 'inherit', env: { ...process.env, DISPENSER_TEST_BASE_IMAGE: env.baseImage } }).status !== 0) {
    stop(`need the test base image ${env.baseImage}, which could not be built`);
  }
  if (spawnSync('curl', ['-sf', '-o', '/dev/null', `http://${env.registry}/v2/`], { stdio: 'ignore', timeout: 10_000 }).status !== 0) {
    stop(`need the test registry, which does not answer on ${env.registry}`);
  }
}
