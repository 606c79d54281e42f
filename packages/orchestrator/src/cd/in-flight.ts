/**
 * Services that CD is redeploying right now, shared by the watcher and cron so that a tick and a
 * digest change never redeploy the same service at the same time.
 */
export class InFlight {
  private readonly running = new Map<string, Promise<unknown>>();

  has(service: string): boolean {
    return this.running.has(service);
  }

  /** Tracks work for a service; the caller checked has() first. */
  track<T>(service: string, work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => {
      if (this.running.get(service) === tracked) this.running.delete(service);
    });
    this.running.set(service, tracked);
    return tracked;
  }

  /** resolves when everything tracked now has settled */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}
