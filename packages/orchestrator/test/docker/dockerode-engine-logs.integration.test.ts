import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infra } from '@dispenser/shared/testing/infra';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import type { LogOptions } from '../../src/docker/engine.js';
import { docker } from '@dispenser/shared/testing/docker';
import { TEST_LABEL, rand } from '../helpers/docker.js';

/** what streamLogs hands out, joined per stream */
async function read(engine: DockerodeEngine, id: string, options: LogOptions, signal = new AbortController().signal): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  await engine.streamLogs(id, options, (stream, data) => (out[stream] += data.toString()), signal);
  return out;
}

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('streamLogs against the real engine: streams apart, TTY, tail, since, follow until aborted or removed', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker');
  if (!env) return;
  const run = rand();
  t.after(() => {
    const ids = docker('ps', '-aq', '--filter', `label=${TEST_LABEL}`, '--filter', `label=dispenser.test.run=${run}`).split('\n').filter(Boolean);
    if (ids.length) docker('rm', '-f', ...ids);
  });
  const start = (tty: boolean, script: string): string =>
    docker('run', '-d', '--label', TEST_LABEL, '--label', `dispenser.test.run=${run}`, ...(tty ? ['-t'] : []), env.baseImage, 'sh', '-c', `trap "exit 0" TERM; ${script}`);
  const engine = new DockerodeEngine();

  const plain = start(false, 'echo out one; echo err one >&2; echo out two; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done');
  await until(() => docker('logs', plain).includes('tick 1'));
  const all = await read(engine, plain, { follow: false });
  assert.match(all.stdout, /^out one\nout two\ntick 1\n/);
  assert.equal(all.stderr, 'err one\n');

  // tail on output that has stopped: the engine may answer a tail taken while a line is being written with nothing
  const quiet = start(false, 'echo a; echo b; echo c; sleep 60');
  await until(() => docker('logs', quiet).includes('c'));
  assert.deepEqual(await read(engine, quiet, { follow: false, tail: 2 }), { stdout: 'b\nc\n', stderr: '' });
  assert.deepEqual(await read(engine, plain, { follow: false, since: Math.floor(Date.now() / 1000) + 3600 }), { stdout: '', stderr: '' });

  const tty = start(true, 'echo on the terminal; echo also stderr >&2; sleep 60');
  await until(() => docker('logs', tty).includes('also stderr'));
  const viaTty = await read(engine, tty, { follow: false });
  assert.match(viaTty.stdout, /on the terminal\r?\nalso stderr/, 'a TTY has one stream');
  assert.equal(viaTty.stderr, '');

  // follow: new output keeps coming until aborted
  const abort = new AbortController();
  const followed = { stdout: '', stderr: '' };
  const following = engine.streamLogs(plain, { follow: true, tail: 0 }, (s, d) => (followed[s] += d.toString()), abort.signal);
  await until(() => (followed.stdout.match(/tick/g) ?? []).length >= 3);
  abort.abort();
  await following;

  // follow: ends by itself when the container is removed (a redeploy replaces it)
  let ended = false;
  const toRemoval = engine.streamLogs(plain, { follow: true, tail: 0 }, () => undefined, new AbortController().signal).then(() => (ended = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ended, false);
  docker('rm', '-f', plain);
  await toRemoval;
  assert.equal(ended, true);
});

test('streamLogs with follow goes on across a restart of the container and ends when it is removed', { timeout: 120_000 }, async (t) => {
  const env = infra(t, 'docker');
  if (!env) return;
  const run = rand();
  t.after(() => {
    const ids = docker('ps', '-aq', '--filter', `label=${TEST_LABEL}`, '--filter', `label=dispenser.test.run=${run}`).split('\n').filter(Boolean);
    if (ids.length) docker('rm', '-f', ...ids);
  });
  const id = docker('run', '-d', '--label', TEST_LABEL, '--label', `dispenser.test.run=${run}`, env.baseImage, 'sh', '-c', 'echo run at $(date +%s%N); sleep 1');
  const engine = new DockerodeEngine();
  let out = '';
  let ended = false;
  const following = engine.streamLogs(id, { follow: true }, (_s, d) => (out += d.toString()), new AbortController().signal).then(() => (ended = true));
  await until(() => out.includes('run at'));
  docker('wait', id);
  docker('start', id);
  await until(() => (out.match(/run at/g) ?? []).length === 2);
  docker('wait', id);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(ended, false, 'a stopped container is still followed');
  assert.equal((out.match(/run at/g) ?? []).length, 2, 'no line twice');
  docker('rm', '-f', id);
  await following;
  assert.equal(ended, true);
});
