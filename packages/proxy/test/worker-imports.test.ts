import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envelope } from '@dispenser/shared/ipc/envelope';

const workerPath = fileURLToPath(new URL('../src/worker.js', import.meta.url));

/** Every file: URL the worker process loads through the ES module loader, in order. */
async function modulesLoadedByWorker(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dispenser-worker-imports-'));
  try {
    const list = join(dir, 'loaded.txt');
    writeFileSync(list, '');
    // module hooks run on the loader's own thread: they write to a file, not to the test
    writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(list)}, url + '\\n');
  return next(url, context);
}\n`);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const child = fork(workerPath, [], {
      execArgv: ['--import', pathToFileURL(join(dir, 'register.mjs')).href],
      env: { ...process.env, DISPENSER_WORKER_INDEX: '0', DISPENSER_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    // by the time it handles a message its whole module graph is loaded; drain makes it exit
    child.send(envelope({ type: 'drain', timeoutMs: 0 }));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    return readFileSync(list, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a proxy worker loads only the data path: no Docker client, ACME, templates, config parsing or zod', async () => {
  const loaded = await modulesLoadedByWorker();
  assert.ok(loaded.some((u) => u.endsWith('/proxy/dist/src/forward.js')), `the hook saw the worker's modules: ${loaded.join(', ')}`);
  const packages = new Set(loaded.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  // pino: the log stream; http2-proxy: WebSocket upgrades. Anything new here is memory in every worker.
  assert.deepEqual([...packages].sort(), ['http2-proxy', 'pino']);
  const workspace = loaded.filter((u) => /\/packages\/(orchestrator|cli)\/|\/shared\/dist\/src\/config\//.test(u));
  assert.deepEqual(workspace, [], 'no control-plane code from the other workspace packages');
});
