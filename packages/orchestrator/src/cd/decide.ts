/**
 * What one poll does for one watched service, as a pure function of the registry digest, the
 * running container's digest and what the watcher remembers.
 */

export interface WatchMemory {
  /** a digest whose deploy failed: not retried until the registry shows a different one */
  failedDigest?: string;
  /** last registry digest seen: the reference point when the container's digest is unknown */
  lastSeen?: string;
  /**
   * the registry said the tag does not exist (404): when it appears, that is a change, so a
   * watched service without a container (on-trigger, or whose image was missing at launch) starts
   */
  missing?: boolean;
}

export type Decision =
  | { action: 'none' }
  /** the container's image has no registry digest (or there is no container): remember what the tag points at now */
  | { action: 'baseline'; digest: string }
  | { action: 'redeploy'; from: string | undefined; to: string }
  | { action: 'skip-failed'; digest: string };

export function decide(registryDigest: string, runningDigest: string | undefined, memory: WatchMemory): { decision: Decision; memory: WatchMemory } {
  const next: WatchMemory = { ...memory };
  // The registry moved past the failed digest (or back from it): that failure no longer blocks.
  if (next.failedDigest !== undefined && next.failedDigest !== registryDigest) delete next.failedDigest;
  const previous = next.lastSeen;
  const appeared = next.missing === true;
  delete next.missing;
  next.lastSeen = registryDigest;

  if (runningDigest === registryDigest) return { decision: { action: 'none' }, memory: next };
  if (next.failedDigest === registryDigest) return { decision: { action: 'skip-failed', digest: registryDigest }, memory: next };
  if (runningDigest === undefined) {
    if (appeared && previous !== registryDigest) return { decision: { action: 'redeploy', from: previous, to: registryDigest }, memory: next };
    if (previous === undefined) return { decision: { action: 'baseline', digest: registryDigest }, memory: next };
    if (previous === registryDigest) return { decision: { action: 'none' }, memory: next };
    return { decision: { action: 'redeploy', from: previous, to: registryDigest }, memory: next };
  }
  return { decision: { action: 'redeploy', from: runningDigest, to: registryDigest }, memory: next };
}

/** The registry answered 404 for the tag: remember it, so that the tag appearing counts as a change. */
export function tagMissing(memory: WatchMemory): WatchMemory {
  return { ...memory, missing: true };
}

/** Apply the outcome of a redeploy to the memory. */
export function afterDeploy(memory: WatchMemory, to: string, ok: boolean): WatchMemory {
  const next: WatchMemory = { ...memory, lastSeen: to };
  if (ok) delete next.failedDigest;
  else next.failedDigest = to;
  return next;
}
