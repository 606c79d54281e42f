import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCertificates } from '../../src/certs/plan.js';
import { isPlausibleEmail, isValidDnsName } from '../../src/certs/names.js';
import { classifyAcmeFailure, type AcmeFailureInput } from '../../src/certs/acme-errors.js';
import { makeConfig } from './helpers.js';

const certbot = { email: 'ops@example.com', directoryUrl: 'https://ca.example/dir' };

test('isValidDnsName', () => {
  const cases: [string, boolean, boolean?][] = [
    ['example.com', true],
    ['a-b.c.example.com', true],
    ['xn--bcher-kva.example', true],
    ['localhost', false],
    ['localhost', true, true],
    ['-bad.example.com', false],
    ['bad-.example.com', false],
    ['under_score.example.com', false],
    ['exa mple.com', false],
    ['*.example.com', false],
    ['127.0.0.1', false],
    ['::1', false],
    ['example.123', false],
    [`${'a'.repeat(64)}.com`, false],
    ['', false],
  ];
  for (const [host, ok, single] of cases) assert.equal(isValidDnsName(host, { singleLabel: single ?? false }), ok, host);
});

test('isPlausibleEmail', () => {
  assert.equal(isPlausibleEmail('ops@example.com'), true);
  assert.equal(isPlausibleEmail('ops@localhost'), false);
  assert.equal(isPlausibleEmail('not an email'), false);
  assert.equal(isPlausibleEmail('a@@example.com'), false);
});

test('planCertificates: source per host', () => {
  const base = { stateDir: '/srv/d/.dispenser' };
  const services = [
    { host: 'App.Example.com' },
    { host: 'app.example.com', name: 'app-api' },
    { host: 'files.example.com', certFile: '/etc/ssl/f.pem', keyFile: '/etc/ssl/f.key' },
    { host: 'bad_host.example.com' },
  ];
  const acme = planCertificates(makeConfig({ ...base, services, certbot }), { dev: false });
  assert.deepEqual(
    acme.hosts.map((h) => [h.host, h.source.kind, h.services.length]),
    [
      ['app.example.com', 'acme', 2],
      ['files.example.com', 'files', 1],
    ],
  );
  assert.equal(acme.acme, true);
  assert.deepEqual(acme.problems.map((p) => [p.host, p.code, p.severity]), [['bad_host.example.com', 'CERT_INVALID_HOST', 'error']]);

  const dev = planCertificates(makeConfig({ ...base, services: [...services, { host: 'localhost' }], certbot }), { dev: true });
  assert.deepEqual(
    dev.hosts.map((h) => [h.host, h.source.kind]),
    [
      ['app.example.com', 'self-signed'],
      ['files.example.com', 'files'],
      ['localhost', 'self-signed'],
    ],
  );
  assert.equal(dev.acme, false);

  const httpOnly = planCertificates(makeConfig({ ...base, services, certbot, strategy: 'http-only' }), { dev: false });
  assert.deepEqual(httpOnly.hosts.map((h) => [h.host, h.source.kind]), [['files.example.com', 'files']]);
  assert.equal(httpOnly.acme, false);
  assert.equal(httpOnly.problems.length, 0);

  // https without [certbot] or files: served self-signed (as the original did), with a warning
  const noCertbot = planCertificates(makeConfig({ ...base, services: [...services, { host: 'intranet' }] }), { dev: false });
  assert.equal(noCertbot.acme, false);
  assert.deepEqual(
    noCertbot.hosts.map((h) => [h.host, h.source.kind]),
    [
      ['app.example.com', 'self-signed'],
      ['files.example.com', 'files'],
      ['intranet', 'self-signed'],
    ],
  );
  assert.deepEqual(
    noCertbot.problems.map((p) => [p.host, p.code, p.severity]),
    [
      ['app.example.com', 'CERT_SELF_SIGNED_FALLBACK', 'warning'],
      ['bad_host.example.com', 'CERT_INVALID_HOST', 'error'],
      ['intranet', 'CERT_SELF_SIGNED_FALLBACK', 'warning'],
    ],
  );

  const disabled = makeConfig({ ...base, services, certbot });
  assert.deepEqual(planCertificates({ ...disabled, proxy: { ...disabled.proxy, enabled: false } }, { dev: false }).hosts, []);
});

test('classifyAcmeFailure: each fault gets its own code and a hint', () => {
  const f = (x: Partial<AcmeFailureInput>): AcmeFailureInput => ({ step: 'order', message: 'boom', host: 'a.example.com', directoryUrl: certbot.directoryUrl, email: certbot.email, ...x });
  const P = 'urn:ietf:params:acme:error:';
  const cases: [string, AcmeFailureInput, string][] = [
    ['connection refused', f({ step: 'account', errorCode: 'ECONNREFUSED' }), 'CERT_CA_UNREACHABLE'],
    ['dns failure', f({ step: 'account', errorCode: 'ENOTFOUND' }), 'CERT_CA_UNREACHABLE'],
    ['timeout', f({ errorCode: 'ECONNABORTED' }), 'CERT_CA_UNREACHABLE'],
    ['untrusted CA', f({ step: 'account', errorCode: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'CERT_CA_UNREACHABLE'],
    ['wrong directory path', f({ step: 'account', message: 'Attempting to read ACME directory returned error 404: https://x/dir' }), 'CERT_CA_UNREACHABLE'],
    ['rate limited', f({ problem: { type: `${P}rateLimited`, detail: 'too many', retryAfterMs: 3_600_000 } }), 'CERT_RATE_LIMITED'],
    ['invalid contact', f({ step: 'account', problem: { type: `${P}invalidContact`, detail: 'bad email' } }), 'CERT_INVALID_EMAIL'],
    ['rejected identifier', f({ problem: { type: `${P}rejectedIdentifier`, detail: 'no' } }), 'CERT_INVALID_HOST'],
    ['malformed order', f({ problem: { type: `${P}malformed`, detail: 'bad name' } }), 'CERT_INVALID_HOST'],
    ['challenge refused', f({ step: 'challenge', problem: { type: `${P}connection`, detail: 'connection refused' } }), 'CERT_CHALLENGE_FAILED'],
    ['challenge wrong answer', f({ step: 'challenge', problem: { type: `${P}unauthorized`, detail: 'wrong key authorization' } }), 'CERT_CHALLENGE_FAILED'],
    ['challenge step, no problem', f({ step: 'challenge' }), 'CERT_CHALLENGE_FAILED'],
    ['server error at finalize', f({ step: 'finalize', problem: { type: `${P}serverInternal`, detail: 'oops' } }), 'CERT_ACME_FAILED'],
  ];
  for (const [name, input, code] of cases) {
    const out = classifyAcmeFailure(input);
    assert.equal(out.code, code, name);
    assert.ok(out.message.length > 0 && out.hint, name);
  }
  assert.equal(classifyAcmeFailure(cases[5]![1]).retryAfterMs, 3_600_000);
  assert.match(classifyAcmeFailure(cases[3]![1]).hint ?? '', /NODE_EXTRA_CA_CERTS/);
});
