import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { upstreamHeaderList } from '../src/message-fields.js';

function fakeRequest(headers: Record<string, string | string[]>, remoteAddress = '10.0.0.7'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function pairs(list: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

const opts = { tls: true, host: 'App.example.com:8443', url: '/x', trusted: false, connectTimeoutMs: 0, upstreamTimeoutMs: 0, sendTimeoutMs: 0 };

test('upstream header list: Host as the client sent it, pseudo-headers and hop-by-hop headers dropped, forwarding headers set', () => {
  const list = upstreamHeaderList(
    fakeRequest({
      ':authority': 'App.example.com:8443',
      ':path': '/x',
      host: 'ignored.example',
      accept: '*/*',
      connection: 'keep-alive, X-Hop',
      'x-hop': 'secret',
      te: 'trailers',
      'transfer-encoding': 'chunked',
      'proxy-authorization': 'Basic eA==',
      'x-forwarded-for': '6.6.6.6',
      'set-cookie': ['a=1', 'b=2'],
    }),
    opts,
  );
  assert.deepEqual(pairs(list), [
    ['host', 'App.example.com:8443'],
    ['accept', '*/*'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['x-forwarded-for', '10.0.0.7'],
    ['x-real-ip', '10.0.0.7'],
    ['x-forwarded-proto', 'https'],
    ['x-forwarded-host', 'App.example.com:8443'],
    ['forwarded', 'for=10.0.0.7;proto=https'],
  ]);
});

test('upstream header list: a Connection header cannot remove Host; trusted mode appends to Forwarded', () => {
  const list = upstreamHeaderList(fakeRequest({ host: 'a.test', connection: 'host', forwarded: 'for=1.1.1.1' }, '::ffff:10.0.0.8'), { ...opts, host: 'a.test', trusted: true });
  const h = Object.fromEntries(pairs(list));
  assert.equal(h['host'], 'a.test');
  assert.equal(h['forwarded'], 'for=1.1.1.1, for=10.0.0.8;proto=https');
  assert.equal(h['x-forwarded-for'], '10.0.0.8');
});

test('upstream header list: Connection cannot remove the body framing; every client forwarding header goes when trust is off', () => {
  const req = fakeRequest({ host: 'a.test', connection: 'content-length, transfer-encoding', 'content-length': '44', 'x-forwarded-port': '6666', 'x-forwarded-prefix': '/evil', 'x-forwarded-ssl': 'on', 'x_forwarded_for': '6.6.6.6', 'x-custom': 'kept' });
  const h = Object.fromEntries(pairs(upstreamHeaderList(req, { ...opts, host: 'a.test' }, 'length')));
  assert.equal(h['content-length'], '44', 'a length named in Connection still travels with its body');
  for (const name of ['x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-ssl', 'x_forwarded_for']) assert.equal(h[name], undefined, name);
  assert.equal(h['x-custom'], 'kept');
  const chunked = Object.fromEntries(pairs(upstreamHeaderList(fakeRequest({ host: 'a.test', connection: 'transfer-encoding', 'transfer-encoding': 'chunked' }), { ...opts, host: 'a.test' }, 'chunked')));
  assert.equal(chunked['transfer-encoding'], 'chunked');
  const trusted = Object.fromEntries(pairs(upstreamHeaderList(req, { ...opts, host: 'a.test', trusted: true }, 'length')));
  assert.equal(trusted['x-forwarded-port'], '6666', 'trusted: the front proxy\'s headers pass');
  assert.equal(trusted['x_forwarded_for'], undefined, 'underscore spellings never pass');
});
