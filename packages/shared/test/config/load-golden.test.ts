/**
 * Golden fixtures: each directory under test/fixtures/config/<case>/ is a config directory.
 * Valid ones must normalize to expected.json (paths relative to the case dir) and, when they
 * come with warnings or notes, print exactly notices.txt; invalid ones must produce exactly
 * expected.txt (the formatted problems). case.json (optional) sets the
 * environment, dev-mode `only`, the config file name, the Google fake's secrets and credentials,
 * and `mustNotContain` (secret values that must appear in no output).
 * Regenerate after an intended change: UPDATE_GOLDEN=1 node scripts/run-tests.mjs config/golden
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { formatProblem, formatProblems } from '../../src/config/format.js';
import { startGoogleFake, type GoogleFake } from '../../testing/google-fake.js';

// tsc does not copy fixtures: resolve them from the package dir (dist/test/config → ../../../test)
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface CaseSpec {
  config?: string;
  env?: Record<string, string>;
  only?: string[];
  google?: { secrets: Record<string, Record<string, string>>; credentials: 'metadata' | 'service-account' | 'unreachable' | 'wrong-key' | 'not-a-service-account' };
  mustNotContain?: string[];
}

function stabilize(value: unknown, dir: string): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      if (typeof v === 'string' && v.startsWith(dir)) return '<case>' + v.slice(dir.length);
      if (typeof v === 'string' && v.startsWith(`file://${dir}`)) return 'file://<case>' + v.slice(`file://${dir}`.length);
      if (key === 'workers' && v === availableParallelism()) return '<available parallelism>';
      return v;
    }),
  );
}

function newKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

/** A loopback port nothing listens on (listen on port 0, then close). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function withGoogle(spec: CaseSpec, env: Record<string, string>, run: () => Promise<void>): Promise<void> {
  if (!spec.google) return run();
  let fake: GoogleFake | undefined;
  let tmp: string | undefined;
  try {
    if (spec.google.credentials === 'unreachable') {
      const closed = `http://127.0.0.1:${await closedPort()}`;
      env.DISPENSER_GOOGLE_METADATA_URL = closed;
      env.DISPENSER_GOOGLE_SECRETS_URL = closed;
    } else {
      const mode = spec.google.credentials;
      const keys = newKeyPair();
      // wrong-key: the fake knows another public key, so the JWT signature is rejected
      fake = await startGoogleFake({ secrets: spec.google.secrets, publicKeyPem: mode === 'wrong-key' ? newKeyPair().publicKey : keys.publicKey });
      env.DISPENSER_GOOGLE_SECRETS_URL = fake.url;
      env.DISPENSER_GOOGLE_METADATA_URL = fake.url;
      if (mode !== 'metadata') {
        tmp = mkdtempSync(join(tmpdir(), 'dispenser-sa-'));
        const keyFile = join(tmp, 'key.json');
        const type = mode === 'not-a-service-account' ? 'authorized_user' : 'service_account';
        writeFileSync(keyFile, JSON.stringify({ type, client_email: 'dispenser@p.iam.gserviceaccount.com', private_key: keys.privateKey, token_uri: `${fake.url}/token` }));
        env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
      }
    }
    await run();
    if (fake && spec.google.credentials === 'service-account') assert.ok(fake.requests.includes('POST /token'), 'the service-account JWT was exchanged for a token');
    if (fake && spec.google.credentials === 'metadata') assert.ok(fake.requests.some((r) => r.includes('/computeMetadata/')), 'the token came from the metadata server');
  } finally {
    await fake?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

for (const name of readdirSync(FIXTURES).sort()) {
  const dir = join(FIXTURES, name);
  test(`config golden: ${name}`, async () => {
    const specFile = join(dir, 'case.json');
    const spec: CaseSpec = existsSync(specFile) ? (JSON.parse(readFileSync(specFile, 'utf8')) as CaseSpec) : {};
    const env: Record<string, string> = { ...spec.env };
    await withGoogle(spec, env, async () => {
      const result = await loadConfig(join(dir, spec.config ?? 'dispenser.toml'), { env, ...(spec.only ? { only: spec.only } : {}) });
      const expectedJson = join(dir, 'expected.json');
      const expectedTxt = join(dir, 'expected.txt');
      let actual: string;
      let expectedFile: string;
      if (result.ok) {
        assert.ok(Object.isFrozen(result.config) && Object.isFrozen(result.config.services) && Object.isFrozen(result.config.proxy), 'the config is frozen');
        actual = JSON.stringify(stabilize(result.config, dir), null, 2) + '\n';
        expectedFile = expectedJson;
        assert.ok(UPDATE || !existsSync(expectedTxt), `${name} was expected to be invalid, but it loaded`);
        const noticesFile = join(dir, 'notices.txt');
        const notices = (result.notices ?? []).map((n) => formatProblem(n, { relativeTo: dir }) + '\n').join('\n');
        if (UPDATE) {
          rmSync(noticesFile, { force: true });
          if (notices !== '') writeFileSync(noticesFile, notices);
        } else assert.equal(notices, existsSync(noticesFile) ? readFileSync(noticesFile, 'utf8') : '', `${name}: warnings and notes`);
      } else {
        // absolute paths inside messages differ per checkout
        actual = formatProblems(result.problems, { relativeTo: dir, ...(result.redact ? { redact: result.redact } : {}) }).split(dir).join('<case>').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>').replace(/\S*dispenser-sa-\w+\/key\.json/g, '<key file>') + '\n';
        expectedFile = expectedTxt;
        assert.ok(UPDATE || !existsSync(expectedJson), `${name} was expected to be valid:\n${actual}`);
        for (const p of result.problems) assert.match(p.code, /^CONFIG_[A-Z_]+$/);
      }
      for (const secret of spec.mustNotContain ?? []) assert.ok(!actual.includes(secret) || result.ok, `a secret value leaked into the output of ${name}`);
      if (UPDATE) {
        rmSync(expectedJson, { force: true });
        rmSync(expectedTxt, { force: true });
        writeFileSync(expectedFile, actual);
        return;
      }
      assert.equal(actual, readFileSync(expectedFile, 'utf8'));
    });
  });
}
