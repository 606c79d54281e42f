import type { ProxySettings } from '@dispenser/shared/config/types';
import { envelope, type CertEntry, type Message, type Route, type SnapshotKind } from '@dispenser/shared/ipc/messages';
import type { ProxyPublisher } from '../contracts.js';

type Send = (msg: unknown) => void;

/**
 * ProxyPublisher for the orchestrator process: snapshots go to the supervisor over the IPC
 * channel with a version that increases per kind; each publish resolves once the supervisor says
 * every proxy worker has applied that version (or a newer one). Without an IPC channel (run
 * outside the supervisor) publishes resolve at once.
 */
export class ProcessPublisher implements ProxyPublisher {
  private readonly versions = new Map<SnapshotKind, number>();
  private readonly applied = new Map<SnapshotKind, number>();
  private readonly waiting: Array<{ kind: SnapshotKind; version: number; resolve: () => void }> = [];
  private settings: ProxySettings | undefined;

  constructor(private readonly send: Send | undefined = process.send?.bind(process)) {}

  /** Feed every message received from the supervisor; returns true when it was for the publisher. */
  handle(msg: Message): boolean {
    if (msg.type !== 'applied') return false;
    if (msg.version > (this.applied.get(msg.kind) ?? -1)) this.applied.set(msg.kind, msg.version);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      if (w.kind === msg.kind && msg.version >= w.version) {
        this.waiting.splice(i, 1);
        w.resolve();
      }
    }
    return true;
  }

  private next(kind: SnapshotKind): number {
    const v = (this.versions.get(kind) ?? 0) + 1;
    this.versions.set(kind, v);
    return v;
  }

  private publish(kind: SnapshotKind, build: (version: number) => Message): Promise<void> {
    const version = this.next(kind);
    if (!this.send) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      if ((this.applied.get(kind) ?? -1) >= version) return resolve();
      this.waiting.push({ kind, version, resolve });
    });
    this.send(envelope(build(version)));
    return done;
  }

  publishRoutes(routes: readonly Route[]): Promise<void> {
    return this.publish('routes', (version) => ({ type: 'routes', version, routes: [...routes] }));
  }

  publishCerts(certs: readonly CertEntry[]): Promise<void> {
    return this.publish('certs', (version) => ({ type: 'certs', version, certs: [...certs] }));
  }

  publishChallenges(tokens: Readonly<Record<string, string>>): Promise<void> {
    return this.publish('challenges', (version) => ({ type: 'challenges', version, tokens: { ...tokens } }));
  }

  /** Sends the proxy settings; the supervisor keeps them for workers it starts later. */
  publishProxySettings(settings: ProxySettings): Promise<void> {
    this.settings = { ...settings };
    return this.publish('proxy-settings', (version) => ({ type: 'proxy-settings', version, settings: { ...settings } }));
  }

  /** the last proxy settings sent */
  get proxySettings(): ProxySettings | undefined {
    return this.settings;
  }
}
