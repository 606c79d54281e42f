import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  /** issuer distinguished name, one RDN per line as node prints it */
  issuer: string;
  /** DNS names from subjectAltName */
  dnsNames: string[];
  serialNumber: string;
  selfSigned: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitChain(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

/** Parses the leaf (first) certificate of a PEM chain; throws when there is none. */
export function leafCertificate(pem: string): X509Certificate {
  const first = splitChain(pem)[0];
  if (!first) throw new Error('no PEM certificate found');
  return new X509Certificate(first);
}

export function inspectCertificate(pem: string): CertInfo {
  const x = leafCertificate(pem);
  const dnsNames = (x.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  return {
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    issuer: x.issuer,
    dnsNames,
    serialNumber: x.serialNumber,
    selfSigned: x.issuer === x.subject && x.verify(x.publicKey),
  };
}

export function parsePrivateKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** true when the private key belongs to the chain's leaf certificate */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  return leafCertificate(certPem).checkPrivateKey(parsePrivateKey(keyPem));
}

/** true when the leaf certificate is valid for the host name (SAN, wildcards per RFC 6125) */
export function certificateCoversHost(certPem: string, host: string): boolean {
  return leafCertificate(certPem).checkHost(host, { subject: 'never' }) !== undefined;
}
