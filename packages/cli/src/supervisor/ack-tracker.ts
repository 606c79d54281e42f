import { snapshotKinds, type SnapshotKind } from '@dispenser/shared/ipc/messages';

export interface AppliedVersion {
  kind: SnapshotKind;
  version: number;
}

/**
 * Which snapshot versions every live worker serves. Pure bookkeeping: the supervisor feeds it
 * publishes, acks and worker births/deaths and sends `applied` for whatever `settle()` returns.
 * A version is applied when every live worker has acknowledged it or a newer one; with no live
 * workers, a published version is applied at once (nothing can serve a stale one).
 */
export class AckTracker {
  private readonly published = new Map<SnapshotKind, number>();
  private readonly acked = new Map<number, Map<SnapshotKind, number>>();
  private readonly reported = new Map<SnapshotKind, number>();

  publish(kind: SnapshotKind, version: number): void {
    this.published.set(kind, Math.max(version, this.published.get(kind) ?? -1));
  }

  addWorker(worker: number): void {
    this.acked.set(worker, new Map());
  }

  removeWorker(worker: number): void {
    this.acked.delete(worker);
  }

  ack(worker: number, kind: SnapshotKind, version: number): void {
    const acks = this.acked.get(worker);
    if (!acks) return;
    acks.set(kind, Math.max(version, acks.get(kind) ?? -1));
  }

  /** The newest version of `kind` the worker has acknowledged, -1 for none. */
  ackedBy(worker: number, kind: SnapshotKind): number {
    return this.acked.get(worker)?.get(kind) ?? -1;
  }

  /** Versions newly applied by every live worker since the last call, one per kind at most. */
  settle(): AppliedVersion[] {
    const out: AppliedVersion[] = [];
    for (const kind of snapshotKinds) {
      const published = this.published.get(kind);
      if (published === undefined) continue;
      let applied = published;
      for (const acks of this.acked.values()) applied = Math.min(applied, acks.get(kind) ?? -1);
      if (applied < 0 || applied <= (this.reported.get(kind) ?? -1)) continue;
      this.reported.set(kind, applied);
      out.push({ kind, version: applied });
    }
    return out;
  }
}
