import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';

/**
 * The TLS profile of the HTTPS listener: Mozilla's "intermediate" configuration narrowed to
 * forward-secret AEAD suites. TLS 1.2 offers only ECDHE with AES-GCM or ChaCha20-Poly1305 (no
 * static RSA key exchange, no CBC, no CCM, no ARIA, no finite-field DHE); TLS 1.3 keeps OpenSSL's
 * default suites, which are all AEAD. Node takes TLS 1.3 suites from the same `ciphers` string and
 * turns TLS 1.3 off when none are listed, so they are spelled out.
 *
 * These options go on the server and on every certificate context from sni.ts. OpenSSL keeps the
 * cipher list and options of the server's context when the SNI callback swaps in a certificate's
 * (the test in tls-profile.test.ts fails without the server's), so the second copy is for consistency: a
 * certificate context never describes a weaker profile than the one in force.
 */

const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export const tlsProfile: Readonly<Pick<SecureContextOptions, 'minVersion' | 'ciphers' | 'secureOptions'>> = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_SUITES, ...TLS12_CIPHERS].join(':'),
  // Client-initiated renegotiation (TLS 1.2) only costs the server a full handshake on demand:
  // a cheap CPU-exhaustion lever for a client, useless to a browser. TLS 1.3 has none.
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
});
