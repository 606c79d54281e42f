/**
 * Reloads that arrive while one is being applied do not queue: the newest waiting one replaces
 * the one before it (each was validated when it arrived, so the newest configuration is the one
 * the operator means). One apply at a time; a replaced reload is settled when the one that
 * replaced it has been applied. No I/O here: `apply` does it.
 */
export interface Submitted<T> {
  /** settles once this value, or a newer one that replaced it, has been applied */
  done: Promise<void>;
  /** the waiting value this one replaced, never applied */
  replaced: T | undefined;
  /** true when another value was being applied at submission: this one waits for it */
  waits: boolean;
}

interface Pending<T> {
  value: T;
  settle: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

export class Coalescer<T> {
  private pending: Pending<T> | undefined;
  private applying = false;

  constructor(private readonly apply: (value: T) => Promise<void>) {}

  get busy(): boolean {
    return this.applying;
  }

  submit(value: T): Submitted<T> {
    const replaced = this.pending?.value;
    const settle = this.pending?.settle ?? [];
    const done = new Promise<void>((resolve, reject) => settle.push({ resolve, reject }));
    this.pending = { value, settle };
    const waits = this.applying;
    if (!this.applying) void this.drain();
    return { done, replaced, waits };
  }

  private async drain(): Promise<void> {
    this.applying = true;
    try {
      while (this.pending) {
        const { value, settle } = this.pending;
        this.pending = undefined;
        try {
          await this.apply(value);
          for (const s of settle) s.resolve();
        } catch (err) {
          for (const s of settle) s.reject(err);
        }
      }
    } finally {
      this.applying = false;
    }
  }
}
