import type { ProxySettings } from '../ipc/messages.js';

/** A setting whose new value waits for a restart of dispenser, named as in dispenser.toml. */
export type RestartOnlySetting = 'proxy.enabled' | 'proxy.workers';

export interface SettingsChange {
  /** the settings the daemon runs with now: the configured ones, except those waiting for a restart */
  inEffect: ProxySettings;
  /** what the configuration changed that only a restart applies (empty: everything applies in place) */
  restartRequired: RestartOnlySetting[];
}

/**
 * What of new proxy settings a running daemon can apply. The supervisor forks the proxy workers
 * once, when the first settings arrive, so `enabled` and `workers` (how many processes) stay as
 * they started; everything else, ports and bind address included, the workers apply in place.
 * The number of workers is moot while the proxy is off (before or after), so only `enabled` is
 * named then. Decided here only, by the supervisor, which alone knows what is running (an
 * orchestrator restarted since the workers were forked knows only the configuration it read).
 */
export function settingsChange(running: ProxySettings, configured: ProxySettings): SettingsChange {
  const restartRequired: RestartOnlySetting[] = [];
  if (running.enabled !== configured.enabled) restartRequired.push('proxy.enabled');
  else if (running.enabled && running.workers !== configured.workers) restartRequired.push('proxy.workers');
  return { inEffect: { ...configured, enabled: running.enabled, workers: running.workers }, restartRequired };
}
