import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import { writeFileAtomic } from '../certs/store.js';

/** The last rollout of a service that failed because of the new container itself. */
export interface FailedRollout {
  /** config hash of the container that failed */
  hash: string;
  /** local image id it ran */
  imageId: string;
  /** registry digest of that image, when it came from a registry */
  digest: string | undefined;
  code: string;
  /** ISO time of the failure */
  at: string;
}

/** Pure: is this attempt the one that failed before? Same config, and the same image (by id, or by registry digest). */
export function sameAsFailed(failed: FailedRollout | undefined, attempt: Pick<FailedRollout, 'hash' | 'imageId' | 'digest'>): boolean {
  if (!failed || failed.hash !== attempt.hash) return false;
  return failed.imageId === attempt.imageId || (failed.digest !== undefined && failed.digest === attempt.digest);
}

/**
 * Failed rollouts per service, kept in `<stateDir>/rollout-failures.json` so that a restart of
 * Dispenser does not deploy an image that already failed once more (the registry watcher's own
 * memory starts empty after a restart). Writes are atomic and serialized; a file that cannot be
 * read counts as empty.
 */
export class FailureStore {
  private entries = new Map<string, FailedRollout>();
  private loaded: Promise<void> | undefined;
  private readonly writing = new SerialQueue();

  constructor(
    readonly file: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  private load(): Promise<void> {
    this.loaded ??= readFile(this.file, 'utf8').then(
      (raw) => {
        const parsed = JSON.parse(raw) as Record<string, FailedRollout>;
        for (const [service, f] of Object.entries(parsed)) {
          if (f && typeof f.hash === 'string' && typeof f.imageId === 'string' && typeof f.code === 'string') this.entries.set(service, f);
        }
      },
      () => undefined,
    ).catch(this.onError);
    return this.loaded;
  }

  async get(service: string): Promise<FailedRollout | undefined> {
    await this.load();
    return this.entries.get(service);
  }

  async set(service: string, failure: FailedRollout): Promise<void> {
    await this.load();
    this.entries.set(service, failure);
    await this.save();
  }

  async delete(service: string): Promise<void> {
    await this.load();
    if (!this.entries.delete(service)) return;
    await this.save();
  }

  private save(): Promise<void> {
    const data = JSON.stringify(Object.fromEntries(this.entries), null, 2);
    return this.writing
      .run(async () => {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        await writeFileAtomic(this.file, data, 0o644);
      })
      .catch(this.onError);
  }
}
