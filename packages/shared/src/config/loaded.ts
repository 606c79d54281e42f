import type { ConfigDocument } from './document.js';
import type { DispenserFile, ServiceFile } from './schema.js';

/** dispenser.toml after rendering, parsing and schema validation. */
export interface LoadedMain {
  file: string;
  baseDir: string;
  doc: ConfigDocument;
  value: DispenserFile;
}

/** One service.toml after rendering, parsing and schema validation. */
export interface LoadedService {
  /** index of its [[service]] entry in dispenser.toml */
  index: number;
  /** the `path` written in that entry */
  entryPath: string;
  dir: string;
  file: string;
  doc: ConfigDocument;
  value: ServiceFile;
}
