/**
 * Type-level checks, enforced by the build (tsc compiles the tests): an `@ts-expect-error` that
 * finds no error fails the build, as does an equality that does not hold. The runtime part only
 * makes node:test list the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import type { DispenserConfig } from '../../src/config/types.js';
import { defaultProxySettings, PROXY_DEFAULTS } from '../../src/defaults.js';
import { messageSchema, parseMessage, envelope, type Message, type MessageOf, type ProxySettings } from '../../src/ipc/messages.js';
import { testProxySettings } from '../../testing/proxy-settings.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const holds = <T extends true>(): T => true as T;

// Every IPC message type is what its schema accepts, in both directions: one declaration each.
holds<Equal<Message, z.output<typeof messageSchema>>>();
holds<Equal<Message, z.input<typeof messageSchema>>>();
// The config the orchestrator loads and the settings a worker receives are the same type.
holds<Equal<DispenserConfig['proxy'], MessageOf<'proxy-settings'>['settings']>>();
holds<Equal<ProxySettings, MessageOf<'proxy-settings'>['settings']>>();

const base = testProxySettings();
// @ts-expect-error a setting the schema does not know is not a ProxySettings field: the supervisor would drop the message
const unknownField: ProxySettings = { ...base, idleWorkers: 2 };
// @ts-expect-error every setting is required, so a new one must be filled in wherever settings are built
const missingField: ProxySettings = { enabled: base.enabled };
// @ts-expect-error the defaults cover every setting but the machine-dependent worker count
const incompleteDefaults: Omit<ProxySettings, 'workers'> = { ...PROXY_DEFAULTS, connectTimeoutMs: undefined };

test('settings built from the defaults pass the IPC validation the supervisor applies', () => {
  void [unknownField, missingField, incompleteDefaults];
  const msg = { type: 'proxy-settings' as const, version: 1, settings: defaultProxySettings(4) };
  assert.deepEqual(parseMessage(envelope(msg)), msg);
  assert.equal(parseMessage(envelope({ ...msg, settings: { ...msg.settings, idleWorkers: 2 } })), undefined, 'an unknown field drops the message');
});
