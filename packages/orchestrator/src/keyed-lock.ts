import { SerialQueue } from '@dispenser/shared/serial-queue';

/** One operation at a time per key (per service): reconcile and redeploy never race on a container. */
export class KeyedLock {
  private readonly queues = new Map<string, SerialQueue>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new SerialQueue()));
    const result = queue.run(fn);
    // a key nothing is queued on is forgotten, so the map does not grow with every service ever seen
    void queue.idle().then(() => {
      if (queue.size === 0 && this.queues.get(key) === queue) this.queues.delete(key);
    });
    return result;
  }
}
