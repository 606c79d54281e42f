import type { ProxySettings } from '@dispenser/shared/config/types';
import { emptyTable, type RouteTable } from './table.js';
import { emptyCertStore, type CertStore } from './sni.js';

/**
 * Everything a worker serves from. Each field is replaced whole when its snapshot arrives; the
 * data path reads the field once per request and never waits for anything.
 */
export interface ProxyState {
  table: RouteTable;
  certs: CertStore;
  /** ACME HTTP-01 token → key authorization */
  challenges: ReadonlyMap<string, string>;
  settings: ProxySettings;
  /** the port the HTTPS listener is bound to, for redirects (differs from settings only for port 0) */
  boundHttpsPort: number;
}

export const defaultSettings: ProxySettings = Object.freeze({
  enabled: true,
  strategy: 'https-only',
  trustForwardedHeaders: false,
  httpPort: 80,
  httpsPort: 443,
  bind: '0.0.0.0',
  workers: 1,
  accessLog: false,
  connectTimeoutMs: 5_000,
  upstreamTimeoutMs: 60_000,
  shutdownTimeoutMs: 30_000,
  headerTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  http2IdleTimeoutMs: 75_000,
});

export function initialState(settings: ProxySettings = defaultSettings): ProxyState {
  return { table: emptyTable, certs: emptyCertStore, challenges: new Map(), settings, boundHttpsPort: settings.httpsPort };
}
