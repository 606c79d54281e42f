import { mkdir, readFile, rename, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { keyMatchesCertificate } from './pem.js';

export interface StoredCert {
  certPem: string;
  keyPem: string;
}

/**
 * Write a file so a reader sees either the old or the new content, never a torn one: write a
 * temporary file beside it with the final mode, flush it, then rename over the target.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Certificates Dispenser obtained itself, one directory per host:
 * `<root>/<host>/fullchain.pem` (0644) and `<root>/<host>/privkey.pem` (0600).
 */
export class CertStore {
  constructor(readonly root: string) {}

  dir(host: string): string {
    // Hosts are validated DNS names before they get here; this keeps a bad one out of the tree.
    if (!/^[a-z0-9.-]+$/i.test(host) || host.startsWith('.')) throw new Error(`not a storable host name: ${host}`);
    return join(this.root, host.toLowerCase());
  }

  /** The stored pair, or undefined when missing, unreadable or not a matching pair. */
  async load(host: string): Promise<StoredCert | undefined> {
    try {
      const [certPem, keyPem] = await Promise.all([
        readFile(join(this.dir(host), 'fullchain.pem'), 'utf8'),
        readFile(join(this.dir(host), 'privkey.pem'), 'utf8'),
      ]);
      // A crash between the two renames of save() can leave a new key with an old chain.
      if (!keyMatchesCertificate(certPem, keyPem)) return undefined;
      return { certPem, keyPem };
    } catch {
      return undefined;
    }
  }

  async save(host: string, cert: StoredCert): Promise<void> {
    const dir = this.dir(host);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'privkey.pem'), cert.keyPem, 0o600);
    await writeFileAtomic(join(dir, 'fullchain.pem'), cert.certPem, 0o644);
  }
}

export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}
