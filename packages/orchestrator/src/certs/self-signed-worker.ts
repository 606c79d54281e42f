import { generate } from 'selfsigned';

/**
 * Piscina task: a self-signed certificate for one host. Runs on a worker thread so key generation
 * never stalls the orchestrator's event loop.
 */
export interface SelfSignedTask {
  host: string;
  /** ms since epoch */
  notBefore: number;
  notAfter: number;
}

export interface SelfSignedResult {
  certPem: string;
  keyPem: string;
}

export default async function selfSigned(task: SelfSignedTask): Promise<SelfSignedResult> {
  const pems = await generate([{ name: 'commonName', value: task.host }], {
    keyType: 'ec',
    curve: 'P-256',
    // selfsigned signs with SHA-1 unless told otherwise; browsers reject that.
    algorithm: 'sha256',
    notBeforeDate: new Date(task.notBefore),
    notAfterDate: new Date(task.notAfter),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: task.host }] },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
