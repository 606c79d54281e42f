/**
 * Runs tasks one at a time, in the order they were queued: a task starts once every task queued
 * before it has settled. A task that fails rejects its own promise only; the ones after it still
 * run.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /** tasks queued or running */
  get size(): number {
    return this.queued;
  }

  run<T>(task: () => T | PromiseLike<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(task);
    this.tail = result.then(this.settled, this.settled);
    return result;
  }

  /** resolves once every task queued so far has settled; never rejects */
  idle(): Promise<void> {
    return this.tail;
  }

  private readonly settled = (): void => {
    this.queued--;
  };
}
