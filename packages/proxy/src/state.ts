import type { ProxySettings } from '@dispenser/shared/config/types';
import { defaultProxySettings } from '@dispenser/shared/defaults';
import { emptyTable, type RouteTable } from './table.js';
import { emptySniContexts, type SniContexts } from './sni.js';

/**
 * Everything a worker serves from. Each field is replaced whole when its snapshot arrives; the
 * data path reads the field once per request and never waits for anything.
 */
export interface ProxyState {
  table: RouteTable;
  certs: SniContexts;
  /** ACME HTTP-01 token → key authorization */
  challenges: ReadonlyMap<string, string>;
  settings: ProxySettings;
  /** the port the HTTPS listener is bound to, for redirects (differs from settings only for port 0) */
  boundHttpsPort: number;
}

/** What a worker serves with until its first settings arrive: one worker's share of the defaults. */
export const defaultSettings: ProxySettings = Object.freeze(defaultProxySettings(1));

export function initialState(settings: ProxySettings = defaultSettings): ProxyState {
  return { table: emptyTable, certs: emptySniContexts, challenges: new Map(), settings, boundHttpsPort: settings.httpsPort };
}
