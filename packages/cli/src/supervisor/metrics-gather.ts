import type { MessageOf } from '@dispenser/shared/ipc/messages';
import type { MetricSample } from '@dispenser/shared/metrics/sample';

/** A child process asked for its numbers: `name` is its `process` label. */
export interface ScrapeTarget {
  name: string;
  /** undefined: the child is not running (it is then reported as not answering) */
  send: ((msg: MessageOf<'metrics-request'>) => void) | undefined;
}

export interface Gathered {
  samples: MetricSample[];
  /** process label → answered within the timeout */
  answered: Map<string, boolean>;
}

interface Pending {
  waitingFor: Set<string>;
  answered: Set<string>;
  samples: MetricSample[];
  finish: () => void;
}

/**
 * One scrape fanned out to the children over IPC: each gets a metrics-request with the scrape's id
 * and the scrape ends when all have answered or the timeout passed, whichever is first. A report
 * for a scrape that already ended, or from a child that was not asked, is dropped.
 */
export class MetricsGatherer {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  gather(targets: readonly ScrapeTarget[]): Promise<Gathered> {
    const id = this.nextId++;
    const answered = new Map(targets.map((t) => [t.name, false]));
    const entry: Pending = { waitingFor: new Set(), answered: new Set(), samples: [], finish: () => undefined };
    const done = new Promise<Gathered>((resolve) => {
      const timer = setTimeout(() => entry.finish(), this.timeoutMs);
      entry.finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        for (const name of answered.keys()) answered.set(name, entry.answered.has(name));
        resolve({ samples: entry.samples, answered });
      };
    });
    this.pending.set(id, entry);
    // every name first: a child answering at once must not end the scrape before the others are asked
    for (const t of targets) if (t.send) entry.waitingFor.add(t.name);
    if (entry.waitingFor.size === 0) entry.finish();
    for (const t of targets) {
      try {
        t.send?.({ type: 'metrics-request', id });
      } catch {
        // a channel closing under us: that child simply does not answer
      }
    }
    return done;
  }

  /** A metrics-report from the child whose process label is `name`. */
  report(name: string, msg: MessageOf<'metrics-report'>): void {
    const entry = this.pending.get(msg.id);
    if (!entry || !entry.waitingFor.delete(name)) return;
    entry.answered.add(name);
    for (const s of msg.samples) entry.samples.push({ name: s.name, labels: { ...s.labels, ...(s.name.startsWith('process_') ? { process: name } : {}) }, value: s.value });
    if (entry.waitingFor.size === 0) entry.finish();
  }
}
