#!/usr/bin/env node
// Compiles each addon here (quick-ack.c, malloc-trim.c, ambient-caps.c) into
// dist/native/<name>.node (part of `npm run build`).
//
// The addons are optional: without them the proxy works the same, except that responses from a
// backend with Nagle's algorithm on can wait for Linux's delayed ACK (see quick-ack.c), a
// worker keeps more freed memory resident (see malloc-trim.c) and the supervisor's children inherit
// its ambient capabilities (see ambient-caps.c; it logs SUPERVISOR_CAPABILITIES_INHERITED). So a
// machine without a C compiler or Node's headers gets a note, not a failed build; set
// DISPENSER_REQUIRE_NATIVE=1 (CI, packaging) to make that an error. Each is rebuilt only when its
// source is newer than the addon. Environment: CC (default cc), CFLAGS.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDONS = ['quick-ack', 'malloc-trim', 'ambient-caps'];

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'dist', 'native');
const required = process.env.DISPENSER_REQUIRE_NATIVE === '1';

function skip(reason) {
  const message = `native addons not built: ${reason}. The proxy works without them; see CONTRIBUTING.md (Native addons).`;
  if (required) {
    console.error(`error: ${message}`);
    process.exit(1);
  }
  console.warn(`note: ${message}`);
  process.exit(0);
}

if (process.platform !== 'linux') skip('they are Linux-only');

const stale = ADDONS.filter((name) => {
  const out = join(outDir, `${name}.node`);
  return !existsSync(out) || statSync(out).mtimeMs < statSync(join(here, `${name}.c`)).mtimeMs;
});
if (stale.length === 0) process.exit(0);

// Node's own headers: npm's nodedir (what node-gyp would use), next to the binary (official
// builds), or Debian's libnode-dev
const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..'), '/usr']
  .filter(Boolean)
  .map((dir) => join(dir, 'include', 'node'));
const headers = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
if (!headers) skip(`no node_api.h in ${candidates.join(' or ')}`);

const cc = process.env.CC || 'cc';
const flags = (process.env.CFLAGS || '-O2').split(/\s+/).filter(Boolean);
mkdirSync(outDir, { recursive: true });
for (const name of stale) {
  const out = join(outDir, `${name}.node`);
  const tmp = `${out}.${process.pid}.tmp`;
  const result = spawnSync(cc, [...flags, '-shared', '-fPIC', '-Wall', '-I', headers, '-o', tmp, join(here, `${name}.c`)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error || result.status !== 0) {
    rmSync(tmp, { force: true });
    skip(result.error ? `${cc}: ${result.error.message}` : `${cc} exited with ${result.status} on ${name}.c`);
  }
  // renamed into place: a worker starting during a rebuild never loads a half-written file
  renameSync(tmp, out);
}
