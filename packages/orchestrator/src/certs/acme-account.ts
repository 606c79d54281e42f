import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import acme from 'acme-client';
import { ensurePrivateDir, writeFileAtomic } from './store.js';

/** What is persisted beside the account key: enough to reuse the account without a round trip. */
interface AccountRecord {
  directoryUrl: string;
  email: string;
  accountUrl?: string;
}

export interface AccountFiles {
  dir: string;
  keyFile: string;
  recordFile: string;
}

/** One account per directory + email: `<stateDir>/acme/<hash>/account.key` (0600) and `account.json`. */
export function accountFiles(stateDir: string, directoryUrl: string, email: string): AccountFiles {
  const id = createHash('sha256').update(`${directoryUrl}\n${email.toLowerCase()}`).digest('hex').slice(0, 16);
  const dir = join(stateDir, 'acme', id);
  return { dir, keyFile: join(dir, 'account.key'), recordFile: join(dir, 'account.json') };
}

export interface OpenedAccount {
  client: acme.Client;
  accountUrl: string;
  /** true when this call registered the account with the CA (first use of this directory + email) */
  registered: boolean;
}

/**
 * Open the account for directory + email, creating its key on first use. The key is written
 * before the CA is contacted, so a crash mid-registration still reuses it (the CA answers
 * "account exists" for a known key). A stored account URL skips the CA entirely.
 */
export async function openAccount(opts: { stateDir: string; directoryUrl: string; email: string }): Promise<OpenedAccount> {
  const files = accountFiles(opts.stateDir, opts.directoryUrl, opts.email);
  await ensurePrivateDir(files.dir);
  let accountKey: Buffer;
  try {
    accountKey = await readFile(files.keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
    await writeFileAtomic(files.keyFile, accountKey, 0o600);
  }
  let record: AccountRecord | undefined;
  try {
    record = JSON.parse(await readFile(files.recordFile, 'utf8')) as AccountRecord;
  } catch {
    record = undefined;
  }
  const reusable = record?.accountUrl && record.directoryUrl === opts.directoryUrl && record.email === opts.email;
  const client = new acme.Client({
    directoryUrl: opts.directoryUrl,
    accountKey,
    ...(reusable ? { accountUrl: record!.accountUrl! } : {}),
    // Polling for challenge/order status: quick first look, then slower.
    backoffMin: 500,
    backoffMax: 5_000,
    backoffAttempts: 12,
  });
  if (reusable) return { client, accountUrl: record!.accountUrl!, registered: false };

  await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${opts.email}`] });
  const accountUrl = client.getAccountUrl();
  const next: AccountRecord = { directoryUrl: opts.directoryUrl, email: opts.email, accountUrl };
  await writeFileAtomic(files.recordFile, `${JSON.stringify(next, null, 2)}\n`, 0o600);
  return { client, accountUrl, registered: true };
}
