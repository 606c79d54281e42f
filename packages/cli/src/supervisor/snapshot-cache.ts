import type { Snapshot, SnapshotKind } from '@dispenser/shared/ipc/messages';

/**
 * The latest snapshot of each kind, as handed to proxy workers.
 *
 * A restarted orchestrator numbers its snapshots from scratch, but workers ignore a version older
 * than the one they hold. So the supervisor gives every snapshot its own version (monotonic per
 * kind for the daemon's lifetime) before fanning it out, and remembers which orchestrator version
 * each one carried so an `applied` can be reported back in the orchestrator's numbering.
 */
interface Origin {
  local: number;
  orchestrator: number;
}

export class SnapshotCache {
  private readonly latest = new Map<SnapshotKind, Snapshot>();
  private readonly nextLocal = new Map<SnapshotKind, number>();
  /** versions from the current orchestrator incarnation not yet reported applied, oldest first */
  private readonly origins = new Map<SnapshotKind, Origin[]>();
  private readonly lastFromOrchestrator = new Map<SnapshotKind, number>();

  /** A new orchestrator process started: its numbering starts over, older mappings mean nothing to it. */
  newIncarnation(): void {
    this.origins.clear();
    this.lastFromOrchestrator.clear();
  }

  /**
   * Stores a snapshot from the orchestrator and returns it re-versioned for workers, or undefined
   * when it is older than one already received from the same orchestrator process.
   */
  accept(snapshot: Snapshot): Snapshot | undefined {
    const kind = snapshot.type;
    const previous = this.lastFromOrchestrator.get(kind);
    if (previous !== undefined && snapshot.version < previous) return undefined;
    this.lastFromOrchestrator.set(kind, snapshot.version);
    const stored = this.store(snapshot);
    const list = this.origins.get(kind) ?? [];
    list.push({ local: stored.version, orchestrator: snapshot.version });
    this.origins.set(kind, list);
    return stored;
  }

  /**
   * Stores a snapshot the supervisor made itself (TLS ticket keys) and returns it versioned for
   * workers. No orchestrator waits for it, so it is never reported applied.
   */
  own(snapshot: Snapshot): Snapshot {
    return this.store(snapshot);
  }

  /** Keeps the snapshot as the latest of its kind, under the next local version. */
  private store(snapshot: Snapshot): Snapshot {
    const local = this.nextLocal.get(snapshot.type) ?? 1;
    this.nextLocal.set(snapshot.type, local + 1);
    const stored = { ...snapshot, version: local } as Snapshot;
    this.latest.set(snapshot.type, stored);
    return stored;
  }

  get(kind: SnapshotKind): Snapshot | undefined {
    return this.latest.get(kind);
  }

  /**
   * Every cached snapshot, proxy-settings last: a worker opens its listeners when it applies them,
   * and by then it holds the ticket keys, certificates, challenges and routes, so its first
   * request is routed (not a 404 for want of a table) and its first handshake has a certificate.
   */
  all(): Snapshot[] {
    const order: SnapshotKind[] = ['tls-ticket-keys', 'certs', 'challenges', 'routes', 'proxy-settings'];
    return order.flatMap((k) => {
      const s = this.latest.get(k);
      return s ? [s] : [];
    });
  }

  /**
   * Workers have applied local version `local` of `kind`: the orchestrator version to report, if
   * it belongs to the current orchestrator and was not reported yet.
   */
  orchestratorVersionApplied(kind: SnapshotKind, local: number): number | undefined {
    const list = this.origins.get(kind);
    if (!list) return undefined;
    let found: number | undefined;
    while (list.length > 0 && list[0]!.local <= local) found = list.shift()!.orchestrator;
    return found;
  }
}
