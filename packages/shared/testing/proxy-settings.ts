import { defaultProxySettings } from '../src/defaults.js';
import type { ProxySettings } from '../src/ipc/messages.js';

/**
 * Proxy settings for a test: the defaults (one worker), with what the test cares about changed.
 * The one place tests build ProxySettings, so a new setting reaches every fixture with its default.
 */
export function testProxySettings(over: Partial<ProxySettings> = {}): ProxySettings {
  return { ...defaultProxySettings(1), ...over };
}
