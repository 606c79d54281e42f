import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { captureLog, LEVEL } from '@dispenser/shared/testing/log';
import { decodeListenSockets, encodeListenSockets, socketForPort } from '@dispenser/shared/ipc/listen-sockets';
import { reportSocketUse, takeActivatedSockets } from '../../src/supervisor/socket-activation.js';
import { findListening, inspectSocket } from '../../src/supervisor/socket-inspect.js';
import { workerStdio } from '../../src/supervisor/child-process.js';

const listening = () => ({ kind: 'tcp-listen' as const, bound: { address: '0.0.0.0', port: 8080 } });

test('takes the sockets passed to this pid, by name, and unsets the variables', () => {
  const { log } = captureLog({ component: 'supervisor' });
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'http:https', OTHER: 'x' };
  const ports: Record<number, number> = { 3: 80, 4: 443 };
  const { sockets } = takeActivatedSockets(log, env, 42, (fd) => ({ kind: 'tcp-listen', bound: { address: '::', port: ports[fd]! } }));
  assert.deepEqual(sockets, [
    { fd: 3, name: 'http', port: 80, address: '::' },
    { fd: 4, name: 'https', port: 443, address: '::' },
  ]);
  assert.deepEqual(env, { OTHER: 'x' }, 'no child sees LISTEN_*');
});

test('sockets meant for another process are ignored (and the variables still go)', () => {
  const { log, lines } = captureLog({ component: 'supervisor' });
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '41', LISTEN_FDS: '1' };
  assert.deepEqual(takeActivatedSockets(log, env, 42, listening).sockets, []);
  assert.deepEqual(env, {});
  assert.equal(lines[0]?.code, 'SOCKET_ACTIVATION_OTHER_PID');
});

test('no variables: nothing, no log', () => {
  const { log, lines } = captureLog({ component: 'supervisor' });
  assert.deepEqual(takeActivatedSockets(log, {}, 42, listening).sockets, []);
  assert.equal(lines.length, 0);
});

test('a descriptor that is not a listening TCP socket is skipped with a warning; unknown (no /proc) is kept by name', () => {
  const { log, lines } = captureLog({ component: 'supervisor' });
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '2' };
  const { sockets } = takeActivatedSockets(log, env, 42, (fd) => (fd === 3 ? { kind: 'not-a-socket' } : { kind: 'unknown' }));
  assert.deepEqual(sockets, [{ fd: 4, name: 'unknown' }]);
  assert.equal(lines.find((l) => l.level === LEVEL.warn)?.code, 'SOCKET_ACTIVATION_UNUSABLE');
});

test('/proc tables: the listening row of an inode, IPv4 and IPv6', () => {
  const v4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0\n';
  assert.deepEqual(findListening(v4, '12345', false), { address: '127.0.0.1', port: 8080 });
  assert.equal(findListening(v4, '999', false), undefined);
  const v6 = 'header\n   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 777 1\n   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 778 1\n';
  assert.deepEqual(findListening(v6, '777', true), { address: '::', port: 443 });
  assert.deepEqual(findListening(v6, '778', true), { address: '::1', port: 80 });
});

test('inspectSocket reads a real listening socket of this process', { skip: process.platform !== 'linux' }, async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  assert.deepEqual(inspectSocket(fd), { kind: 'tcp-listen', bound: { address: '127.0.0.1', port } });
  assert.equal(inspectSocket(0).kind === 'tcp-listen', false);
});

test('workers get the sockets after the lock, numbered as in the worker', () => {
  const { stdio, inWorker } = workerStdio(['inherit', 'inherit', 'inherit', 'ipc', 9], [{ fd: 3, name: 'http', port: 80 }, { fd: 4, name: 'https', port: 443 }]);
  assert.deepEqual(stdio, ['inherit', 'inherit', 'inherit', 'ipc', 9, 3, 4]);
  assert.deepEqual(inWorker.map((s) => [s.name, s.fd]), [['http', 5], ['https', 6]]);
  assert.deepEqual(decodeListenSockets(encodeListenSockets(inWorker)), inWorker);
  assert.deepEqual(decodeListenSockets('[{"fd":"5"}]'), [], 'malformed: none');
  assert.deepEqual(decodeListenSockets('nope'), []);
});

test('ports match sockets by port, or by name when the port is unknown', () => {
  const sockets = [{ fd: 5, name: 'http', port: 8080 }, { fd: 6, name: 'https' }];
  assert.equal(socketForPort(sockets, 8080, 'http')?.fd, 5);
  assert.equal(socketForPort(sockets, 80, 'http'), undefined, 'a socket on another port is not used for http_port');
  assert.equal(socketForPort(sockets, 443, 'https')?.fd, 6);
  assert.equal(socketForPort(sockets, 0, 'http'), undefined);
});

test('a configured port without a socket and a socket without a port are both reported', () => {
  const { log, lines } = captureLog({ component: 'supervisor' });
  reportSocketUse(log, [{ fd: 3, name: 'http', port: 80 }, { fd: 4, name: 'https', port: 443 }], { enabled: true, strategy: 'both', httpPort: 80, httpsPort: 8443 });
  assert.deepEqual(lines.map((l) => l.code), ['SOCKET_ACTIVATION_PORT_MISMATCH', 'SOCKET_ACTIVATION_UNUSED']);
  const quiet = captureLog({ component: 'supervisor' });
  reportSocketUse(quiet.log, [{ fd: 3, name: 'http', port: 80 }], { enabled: true, strategy: 'http-only', httpPort: 80, httpsPort: 443 });
  assert.equal(quiet.lines.length, 0);
});
