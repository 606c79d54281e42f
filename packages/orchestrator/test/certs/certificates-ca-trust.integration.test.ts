import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { infra } from '@dispenser/shared/testing/infra';
import { tempStateDir } from './helpers.js';

const run = promisify(execFile);

/** What users do for a private CA (docs/guides/certificates.md): NODE_EXTRA_CA_CERTS, no code option. */
test('the ACME CA is trusted through NODE_EXTRA_CA_CERTS; without it the error says how to fix it', async (t) => {
  const env = infra(t, 'pebble');
  if (!env) return;
  const stateDir = await tempStateDir(t);
  const script = `
    const { startCertificates } = await import(${JSON.stringify(new URL('../../src/certs/certificates.js', import.meta.url).href)});
    const { pino } = await import('pino');
    const publisher = { publishRoutes: async () => {}, publishCerts: async () => {}, publishChallenges: async () => {} };
    const config = JSON.parse(process.argv[1]);
    const certs = await startCertificates(config, { publisher, dev: false, log: pino({ level: 'silent' }) });
    await certs.idle();
    console.log(JSON.stringify(certs.status()[0]?.error ?? null));
    await certs.stop();
  `;
  const { makeConfig } = await import('./helpers.js');
  const config = makeConfig({
    stateDir,
    services: [{ host: 'trust.dispenser.test' }],
    certbot: { email: 'trust@example.com', directoryUrl: env.pebbleDirectory },
  });
  const childEnv = { ...process.env };
  delete childEnv.NODE_EXTRA_CA_CERTS;

  const untrusted = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(config)], { env: childEnv });
  const err = JSON.parse(untrusted.stdout) as { code: string; hint: string };
  assert.equal(err.code, 'CERT_CA_UNREACHABLE');
  assert.match(err.hint, /NODE_EXTRA_CA_CERTS/);

  // Trusted: the account registers and the order reaches the CA (its validation may fail here:
  // nothing answers the challenge in this child, which is not what this test is about).
  const trusted = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(config)], {
    env: { ...childEnv, NODE_EXTRA_CA_CERTS: env.pebbleCa },
  });
  const after = JSON.parse(trusted.stdout) as { code: string } | null;
  assert.notEqual(after?.code, 'CERT_CA_UNREACHABLE');
});
