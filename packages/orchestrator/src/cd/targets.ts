import type { DispenserConfig, PullPolicy } from '@dispenser/shared/config/types';
import { errorMessage } from '@dispenser/shared/errors';
import { parseReference, type ImageReference } from '../registry/reference.js';

export interface WatchTarget {
  service: string;
  /** the image as written in service.toml */
  image: string;
  ref: ImageReference;
}

export interface CronTarget {
  service: string;
  cron: string;
  pull: PullPolicy;
  /**
   * true for `watch = true` services: a long-running service that cron restarts on schedule,
   * so a tick never waits for the previous container to exit. false: a batch job, and a tick
   * while the previous run is still going is skipped.
   */
  restart: boolean;
}

export interface Targets {
  watch: WatchTarget[];
  cron: CronTarget[];
  /** watched services whose image cannot be watched (pinned digest, unparseable) */
  unwatchable: { service: string; image: string; why: string }[];
}

/** Which services the watcher polls and which have cron schedules: a pure view of the config. */
export function targetsOf(config: DispenserConfig): Targets {
  const out: Targets = { watch: [], cron: [], unwatchable: [] };
  for (const s of config.services) {
    if (s.dispenser.watch) {
      try {
        const ref = parseReference(s.image);
        if (ref.digest !== undefined) out.unwatchable.push({ service: s.name, image: s.image, why: 'the image is pinned by digest, so it cannot change' });
        else out.watch.push({ service: s.name, image: s.image, ref });
      } catch (err) {
        out.unwatchable.push({ service: s.name, image: s.image, why: errorMessage(err) });
      }
    }
    if (s.dispenser.cron !== undefined) {
      out.cron.push({ service: s.name, cron: s.dispenser.cron, pull: s.dispenser.pull, restart: s.dispenser.watch });
    }
  }
  return out;
}
