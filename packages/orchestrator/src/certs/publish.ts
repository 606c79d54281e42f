import { errorMessage } from '@dispenser/shared/errors';
import type { CertEntry } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { SerialQueue } from '@dispenser/shared/serial-queue';
import type { ProxyPublisher } from '../contracts.js';
import type { HostState } from './host-state.js';

/**
 * Sends the proxy the whole snapshot of every certificate that can be served, one publish at a
 * time, read from the hosts when its turn comes; skipped when nothing changed since the last one.
 */
export class CertPublisher {
  private lastPublished = '';
  private readonly publishing = new SerialQueue();

  constructor(
    private readonly publisher: ProxyPublisher,
    private readonly hosts: ReadonlyMap<string, HostState>,
    private readonly log: Logger,
    /** aborted when the certificate manager stops: nothing more is published */
    private readonly signal: AbortSignal,
  ) {}

  /** never rejects: a failed publish is logged and tried again with the next one */
  publish(): Promise<void> {
    return this.publishing.run(async () => {
      if (this.signal.aborted) return;
      const certs: CertEntry[] = [...this.hosts.values()]
        .filter((s) => s.current)
        .sort((a, b) => a.plan.host.localeCompare(b.plan.host))
        .map((s) => ({ hosts: [s.plan.host], certPem: s.current!.certPem, keyPem: s.current!.keyPem }));
      const key = JSON.stringify(certs.map((c) => [c.hosts, c.certPem]));
      if (key === this.lastPublished) return;
      this.lastPublished = key;
      try {
        await this.publisher.publishCerts(certs);
        this.log.debug({ hosts: certs.map((c) => c.hosts[0]) }, 'certificates published');
      } catch (err) {
        this.lastPublished = '';
        this.log.error({ err: errorMessage(err) }, 'could not publish certificates to the proxy');
      }
    });
  }

  /** resolves once the publishes asked for so far are done */
  idle(): Promise<void> {
    return this.publishing.idle();
  }
}
