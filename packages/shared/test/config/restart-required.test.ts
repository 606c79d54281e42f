import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsChange } from '../../src/config/restart-required.js';
import type { ProxySettings } from '../../src/ipc/messages.js';
import { testProxySettings } from '../../testing/proxy-settings.js';

test('restart required: only turning the proxy on or off and the number of workers wait for a restart', () => {
  const cases: { running: Partial<ProxySettings>; configured: Partial<ProxySettings>; restartRequired: string[] }[] = [
    { running: {}, configured: {}, restartRequired: [] },
    { running: { workers: 2 }, configured: { workers: 4 }, restartRequired: ['proxy.workers'] },
    { running: {}, configured: { enabled: false }, restartRequired: ['proxy.enabled'] },
    { running: { enabled: false }, configured: { enabled: true }, restartRequired: ['proxy.enabled'] },
    // the count is moot while the proxy is off, before or after
    { running: { enabled: false, workers: 2 }, configured: { enabled: true, workers: 4 }, restartRequired: ['proxy.enabled'] },
    { running: { workers: 2 }, configured: { enabled: false, workers: 4 }, restartRequired: ['proxy.enabled'] },
    { running: { enabled: false, workers: 2 }, configured: { enabled: false, workers: 4 }, restartRequired: [] },
    // the workers apply everything else in place, listeners included
    { running: {}, configured: { httpPort: 8080, httpsPort: 8443, bind: '127.0.0.1', strategy: 'both' }, restartRequired: [] },
    { running: {}, configured: { shutdownTimeoutMs: 1000, accessLog: true, trustForwardedHeaders: true, headerTimeoutMs: 0 }, restartRequired: [] },
  ];
  for (const c of cases) {
    const change = settingsChange(testProxySettings(c.running), testProxySettings(c.configured));
    assert.deepEqual(change.restartRequired, c.restartRequired, JSON.stringify(c));
  }
});

test('restart required: what runs keeps its worker processes and takes every other new setting', () => {
  const running = testProxySettings({ workers: 2 });
  const configured = testProxySettings({ enabled: false, workers: 4, httpPort: 8080, shutdownTimeoutMs: 1234 });
  assert.deepEqual(settingsChange(running, configured).inEffect, { ...configured, enabled: true, workers: 2 });
});
