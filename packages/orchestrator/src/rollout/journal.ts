import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../certs/store.js';

/**
 * The step boundaries of a rollout, in order. `switching` is written *before* the proxy is told
 * to route to the candidate: from that moment some worker may already send it traffic, so a
 * restart must treat the candidate as the one serving (rollout/recovery.ts).
 */
export const ROLLOUT_STAGES = ['candidate-started', 'healthy', 'switching', 'switched', 'old-drained', 'old-removed', 'promoted'] as const;
export type RolloutStage = (typeof ROLLOUT_STAGES)[number];

/** How far one rollout of one service got. */
export interface RolloutRecord {
  service: string;
  stage: RolloutStage;
  /** the service's container name (what the candidate is renamed to) */
  containerName: string;
  candidateId: string;
  candidateName: string;
  /** the container that held the service's name when the rollout began */
  oldId: string;
  /** ISO time of the last step */
  at: string;
}

/** Pure: is `value` a record this version can act on? A damaged file must not drive removals. */
export function parseRecord(value: unknown): RolloutRecord | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const strings = ['service', 'containerName', 'candidateId', 'candidateName', 'oldId', 'at'] as const;
  if (!strings.every((k) => typeof r[k] === 'string' && r[k] !== '')) return undefined;
  if (!ROLLOUT_STAGES.includes(r.stage as RolloutStage)) return undefined;
  return r as unknown as RolloutRecord;
}

/** Pure: has the proxy possibly been told to route to the candidate at this stage? */
export function routesMayPointToCandidate(stage: RolloutStage): boolean {
  return ROLLOUT_STAGES.indexOf(stage) >= ROLLOUT_STAGES.indexOf('switching');
}

/**
 * Rollout progress in `<stateDir>/rollouts/<service>.json`, one file per service so that two
 * services rolling out at once never rewrite each other's record. Each write is atomic (temp file
 * + fsync + rename): after a `kill -9` the file holds the previous step or the new one, never half.
 */
export class RolloutJournal {
  constructor(readonly dir: string) {}

  private file(service: string): string {
    // service names are validated by the config loader ([a-z0-9-]); encode anyway so a name can never leave the directory
    return join(this.dir, `${encodeURIComponent(service)}.json`);
  }

  async record(rec: RolloutRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file(rec.service), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
  }

  async get(service: string): Promise<RolloutRecord | undefined> {
    try {
      return parseRecord(JSON.parse(await readFile(this.file(service), 'utf8')));
    } catch {
      return undefined;
    }
  }

  async clear(service: string): Promise<void> {
    await rm(this.file(service), { force: true });
  }

  /** every readable record; unreadable or damaged files are reported through `onBad` and skipped */
  async list(onBad: (file: string) => void = () => undefined): Promise<RolloutRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: RolloutRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      let rec: RolloutRecord | undefined;
      try {
        rec = parseRecord(JSON.parse(await readFile(join(this.dir, name), 'utf8')));
      } catch {
        rec = undefined;
      }
      if (rec) out.push(rec);
      else onBad(join(this.dir, name));
    }
    return out;
  }
}
