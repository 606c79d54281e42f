import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblems } from '../../src/config/format.js';
import { REDACTED, redactor, redactThenTruncate } from '../../src/config/redact.js';
import { fakeSecret, leakedPiece, loadWithSecret, SECRET_LENGTHS } from '../../testing/secrets.js';

test('the redactor hides whole values, any 8-character run of them, and truncated echoes', () => {
  for (const n of SECRET_LENGTHS) {
    const secret = fakeSecret(n);
    const scrub = redactor(['other-value', secret]);
    const texts = [
      `got "${secret}"`,
      `prefix${secret}suffix`,
      `got "${secret.slice(0, Math.max(8, n - 7))}…"`,
      `got "…${secret.slice(-Math.max(8, n - 3))}"`,
      `a piece in the middle: ${secret.slice(Math.min(n >> 2, n - 8), Math.min(n >> 2, n - 8) + 8)} and more`,
      JSON.stringify({ value: secret }),
      `${secret.slice(0, 6)}… and ...${secret.slice(-7)}`,
    ];
    for (const text of texts) {
      const out = scrub(text);
      assert.equal(leakedPiece(out, secret), undefined, `${n}: ${out}`);
      assert.ok(out.includes(REDACTED), `${n}: ${out}`);
    }
    // a 6-character head without an ellipsis is ordinary text, and stays
    assert.equal(scrub(`x ${secret.slice(0, 6)} y`), `x ${secret.slice(0, 6)} y`);
  }
});

test('overlapping pieces become one marker; text around them is untouched', () => {
  const scrub = redactor(['s3cr3t-t0k3n-value']);
  assert.equal(scrub('a s3cr3t-t0k3n-value b s3cr3t-t0k3n-value'), `a ${REDACTED} b ${REDACTED}`);
  assert.equal(scrub('got "s3cr3t-t0k3n…"'), `got "${REDACTED}…"`);
  assert.equal(scrub('token: 0k3n-val'), `token: ${REDACTED}`);
  assert.equal(redactor([])('unchanged'), 'unchanged');
  assert.equal(scrub('with "quotes" and\nnewlines'), 'with "quotes" and\nnewlines');
});

test('redact first, then truncate: a cut never leaves a piece of a secret', () => {
  const secret = fakeSecret(64);
  const line = `${'x'.repeat(480)}TOKEN=${secret}`;
  const out = redactThenTruncate(line, redactor([secret]), 500);
  assert.equal(leakedPiece(out, secret), undefined, out);
  assert.ok(out.length <= 501);
});

test('validation messages and frames never show a secret, whole or truncated (8 to 200 characters)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redact-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const n of SECRET_LENGTHS) {
    const secret = fakeSecret(n);
    const base = join(dir, String(n));
    // the name and memory echo the rendered value (truncated past 57 characters); the comment puts it in a frame
    const result = await loadWithSecret(base, `[service]\nname = "app-\${ pw }"\nimage = "example/app:1"\n# ${secret}\nmemory = "\${ pw }"\n[dispenser]\nwatch = "x\${ pw }"\n`, secret);
    assert.equal(result.ok, false);
    if (result.ok) continue;
    assert.ok(result.problems.length >= 3, `${n}: ${JSON.stringify(result.problems)}`);
    const out = formatProblems(result.problems, { relativeTo: base, ...(result.redact ? { redact: result.redact } : {}) });
    assert.equal(leakedPiece(out, secret), undefined, `${n}:\n${out}`);
    assert.equal(leakedPiece(JSON.stringify(result.problems), secret), undefined, `${n}: problems`);
  }
});

test('a valid config comes with a redactor for its secrets', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redact-ok-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const secret = fakeSecret(32);
  const result = await loadWithSecret(dir, '[service]\nname = "app"\nimage = "example/app:1"\n[env]\nPW = "${ pw }"\n[dispenser]\nwatch = false\n', secret);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.redact?.(`PW=${secret}`), `PW=${REDACTED}`);
});

test('a secret printed in another case (| upper, | lower) is hidden in validation messages too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redact-case-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const secret = 'S3cr3tValueXYZ12';
  const result = await loadWithSecret(dir, '[service]\nname = "app"\nimage = "example/app:1"\nmemory = "${ pw | lower }"\ncpus = "${ pw | upper }"\n[dispenser]\nwatch = false\n', secret);
  assert.equal(result.ok, false);
  if (result.ok) return;
  const out = formatProblems(result.problems, { relativeTo: dir, ...(result.redact ? { redact: result.redact } : {}) });
  assert.match(out, /got "\[secret\]"[\s\S]*got "\[secret\]"/);
  assert.equal(leakedPiece(out.toLowerCase(), secret.toLowerCase()), undefined, out);
});
