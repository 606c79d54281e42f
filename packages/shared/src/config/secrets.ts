import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SecretRef } from './schema.js';
import { GoogleSecretClient, GoogleSecretError } from './google-secrets.js';

export type SecretResult = { ok: true; value: string } | { ok: false; message: string };

/** Fetches secret values for one load; one Google token is shared by all Google secrets. */
export class SecretResolver {
  private google: GoogleSecretClient | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** relative `source = "file"` paths resolve from here */
    private readonly baseDir: string,
  ) {}

  async resolve(ref: SecretRef): Promise<SecretResult> {
    switch (ref.source) {
      case 'env': {
        const value = this.env[ref.name];
        return value === undefined ? { ok: false, message: `environment variable ${ref.name} is not set; set it in the environment Dispenser runs in (e.g. the systemd unit's Environment=)` } : { ok: true, value };
      }
      case 'file': {
        const path = resolve(this.baseDir, ref.path);
        try {
          // systemd credentials and Docker secrets end with a newline that is not part of the value
          return { ok: true, value: (await readFile(path, 'utf8')).replace(/\r?\n$/, '') };
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by the user running Dispenser' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'error'})`;
          return { ok: false, message: `secret file ${path} ${why}` };
        }
      }
      case 'google': {
        this.google ??= new GoogleSecretClient(this.env);
        try {
          return { ok: true, value: await this.google.access(ref.name, ref.version) };
        } catch (err) {
          return { ok: false, message: err instanceof GoogleSecretError ? err.message : `Google secret ${ref.name} could not be fetched` };
        }
      }
    }
  }
}
