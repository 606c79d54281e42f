#!/usr/bin/env node
// Compiles quick-ack.c into dist/native/quick-ack.node (part of `npm run build`).
//
// The addon is optional: without it the proxy works the same, except that responses from a
// backend with Nagle's algorithm on can wait for Linux's delayed ACK (see quick-ack.c). So a
// machine without a C compiler or Node's headers gets a note, not a failed build; set
// DISPENSER_REQUIRE_NATIVE=1 (CI, packaging) to make that an error. Rebuilt only when the
// source is newer than the addon. Environment: CC (default cc), CFLAGS.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'quick-ack.c');
const outDir = join(here, '..', 'dist', 'native');
const out = join(outDir, 'quick-ack.node');
const required = process.env.DISPENSER_REQUIRE_NATIVE === '1';

function skip(reason) {
  const message = `quick-ack addon not built: ${reason}. The proxy works without it; see the README (Reverse proxy / Upstream ACKs).`;
  if (required) {
    console.error(`error: ${message}`);
    process.exit(1);
  }
  console.warn(`note: ${message}`);
  process.exit(0);
}

if (process.platform !== 'linux') skip('TCP_QUICKACK is Linux-only');
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) process.exit(0);

// Node's own headers: npm's nodedir (what node-gyp would use), next to the binary (official
// builds), or Debian's libnode-dev
const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..'), '/usr']
  .filter(Boolean)
  .map((dir) => join(dir, 'include', 'node'));
const headers = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
if (!headers) skip(`no node_api.h in ${candidates.join(' or ')}`);

const cc = process.env.CC || 'cc';
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const flags = (process.env.CFLAGS || '-O2').split(/\s+/).filter(Boolean);
const result = spawnSync(cc, [...flags, '-shared', '-fPIC', '-Wall', '-I', headers, '-o', tmp, source], { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error || result.status !== 0) {
  rmSync(tmp, { force: true });
  skip(result.error ? `${cc}: ${result.error.message}` : `${cc} exited with ${result.status}`);
}
// renamed into place: a worker starting during a rebuild never loads a half-written file
renameSync(tmp, out);
