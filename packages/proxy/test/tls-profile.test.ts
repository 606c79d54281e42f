import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';
import { makeCert, startProxy, type Cert } from './helpers.js';

/**
 * The TLS profile as a client sees it, through `openssl s_client` (which can offer suites Node's
 * own client no longer does) and Node's client for renegotiation.
 */

const rsa: Cert = makeCert(['rsa.test'], 'rsa');
const ec: Cert = makeCert(['ec.test']);

async function tlsProxy(t: TestContext): Promise<number> {
  const w = await startProxy();
  t.after(() => w.drain(100));
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: ['rsa.test'], ...rsa }, { hosts: ['ec.test'], ...ec }] });
  return w.listeners.httpsPort!;
}

/** The cipher a full handshake agreed on, or undefined when the server refused it. */
function sClient(port: number, servername: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, ...args], { timeout: 10_000 }, (err, stdout) => {
      const cipher = /Cipher is (\S+)/.exec(stdout)?.[1];
      resolve(!err && cipher && cipher !== '(NONE)' ? cipher : undefined);
    });
    child.stdin?.end();
  });
}

test('TLS 1.2 offers only ECDHE with AEAD ciphers, on the certificates chosen by SNI', async (t) => {
  const port = await tlsProxy(t);
  for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    assert.equal(await sClient(port, 'rsa.test', ['-tls1_2', '-cipher', cipher]), cipher);
  }
  assert.equal(await sClient(port, 'ec.test', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']), 'ECDHE-ECDSA-AES128-GCM-SHA256');
  // static RSA key exchange (CBC and GCM), CBC with SHA-1, finite-field DHE, ARIA, CCM8: refused
  for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA256', 'DHE-RSA-AES128-GCM-SHA256', 'ECDHE-ARIA128-GCM-SHA256', 'AES128-CCM8']) {
    assert.equal(await sClient(port, 'rsa.test', ['-tls1_2', '-cipher', `${cipher}@SECLEVEL=0`]), undefined, cipher);
  }
  assert.equal(await sClient(port, 'ec.test', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']), undefined);
});

test('TLS 1.3 works with its default suites; TLS 1.1 and 1.0 are refused', async (t) => {
  const port = await tlsProxy(t);
  assert.match((await sClient(port, 'ec.test', ['-tls1_3'])) ?? '', /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
  assert.equal(await sClient(port, 'ec.test', ['-tls1_3', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256']), 'TLS_CHACHA20_POLY1305_SHA256');
  assert.equal(await sClient(port, 'rsa.test', ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), undefined);
  assert.equal(await sClient(port, 'rsa.test', ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']), undefined);
});

test('a client-initiated renegotiation is refused', async (t) => {
  const port = await tlsProxy(t);
  const outcome = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'ec.test', ca: ec.certPem, maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }, () => {
      socket.renegotiate({ rejectUnauthorized: false }, (err) => {
        socket.destroy();
        resolve(err ? `refused: ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'renegotiated');
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(`refused: ${err.code ?? err.message}`);
    });
  });
  assert.match(outcome, /^refused: /);
});
