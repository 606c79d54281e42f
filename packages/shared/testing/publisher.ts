/**
 * Stands in for the supervisor and its proxy workers on the orchestrator's side: keeps the latest
 * route, certificate and challenge snapshots the orchestrator publishes. It has the shape of the
 * orchestrator's ProxyPublisher (checked where the orchestrator's tests pass it in).
 */
import type { CertEntry, Route } from '../src/ipc/messages.js';

export class MemoryPublisher {
  routes: Route[] = [];
  certs: readonly CertEntry[] = [];
  certSnapshots = 0;
  tokens: Readonly<Record<string, string>> = {};
  /** every challenge snapshot, to check tokens were published and withdrawn */
  challengeHistory: Readonly<Record<string, string>>[] = [];
  /** a slow fan-out: tokens reach the "workers" only this long after the publish call */
  challengeDelayMs = 0;
  private waiters: (() => void)[] = [];

  async publishRoutes(routes: readonly Route[]): Promise<void> {
    this.routes = [...routes];
    this.wake();
  }
  async publishCerts(certs: readonly CertEntry[]): Promise<void> {
    this.certs = certs;
    this.certSnapshots += 1;
    this.wake();
  }
  async publishChallenges(tokens: Readonly<Record<string, string>>): Promise<void> {
    if (this.challengeDelayMs) await new Promise((r) => setTimeout(r, this.challengeDelayMs));
    this.tokens = tokens;
    this.challengeHistory.push(tokens);
  }
  cert(host: string): CertEntry | undefined {
    return this.certs.find((c) => c.hosts.includes(host));
  }
  /** resolves once a published snapshot satisfies pred */
  async waitFor(pred: (p: MemoryPublisher) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a published snapshot');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
