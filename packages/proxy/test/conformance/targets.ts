import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxySettings } from '@dispenser/shared/config/types';
import { freePort, waitPort } from '@dispenser/shared/testing/ports';
import { which } from '@dispenser/shared/testing/tools';
import type { Cert } from '../helpers.js';
import { captureLog } from '@dispenser/shared/testing/log';
import { route, startProxy } from '../helpers.js';
import type { RecordingBackend } from './backend.js';

/**
 * The proxies under test, all set up alike in front of the same recording backend: host `app`,
 * `/public` → the 'public' backend, `/` → the 'root' backend, any other host → 404; plain HTTP and
 * TLS (HTTP/2 + HTTP/1.1, certificate for `app`); the same short upstream and header timeouts.
 */

export const HOST = 'app';
/** upstream read timeout of every target: bounds the cases where the upstream goes silent */
export const UPSTREAM_TIMEOUT_MS = 2_000;
/** client header timeout of every target that can set one */
export const HEADER_TIMEOUT_MS = 1_000;

export interface Target {
  name: string;
  httpPort: number;
  httpsPort: number;
  /** the header timeout in effect, when the target has one settable per run */
  headerTimeoutMs: number | undefined;
  upstreamTimeoutMs: number;
  /** exceptions nobody caught while this (in-process) target served a case */
  crashes: Error[];
  stop(): Promise<void>;
}

/** Dispenser's proxy worker, in this process (as packages/proxy/test/helpers.ts startProxy). */
export async function startDispenser(backend: RecordingBackend, cert: Cert): Promise<Target> {
  const settings: Partial<ProxySettings> = { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, connectTimeoutMs: 1_000, shutdownTimeoutMs: 500, headerTimeoutMs: HEADER_TIMEOUT_MS };
  const w = await startProxy(settings, captureLog({ level: 'info', component: 'proxy' }).log);
  await w.apply({ type: 'routes', version: 1, routes: [route(HOST, '/', backend.ports.root!, 'root'), route(HOST, '/public', backend.ports.public!, 'public')] });
  await w.apply({ type: 'certs', version: 1, certs: [{ hosts: [HOST], ...cert }] });
  const crashes: Error[] = [];
  // An uncaught exception in the in-process worker would kill a real worker process: the case it
  // happens in fails with it (runner.ts). Captured rather than listened to, so that the test
  // runner reports it against that case instead of failing the whole file.
  process.setUncaughtExceptionCaptureCallback((err) => void crashes.push(err instanceof Error ? err : new Error(String(err))));
  return {
    name: 'dispenser',
    httpPort: w.listeners.httpPort!,
    httpsPort: w.listeners.httpsPort!,
    headerTimeoutMs: HEADER_TIMEOUT_MS,
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    crashes,
    stop: async () => {
      await w.drain(200);
      process.setUncaughtExceptionCaptureCallback(null);
    },
  };
}



/** A server run as a child process from a temporary directory, removed again on stop. */
async function childTarget(name: string, work: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv, httpPort: number, httpsPort: number, headerTimeoutMs: number): Promise<Target> {
  const p: ChildProcess = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      const killer = setTimeout(() => p.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      Promise.all([waitPort(httpPort, 10_000), waitPort(httpsPort, 10_000)]),
      exited.then(() => {
        throw new Error(`${name} exited: ${stderr.trim().slice(-500)}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, httpPort, httpsPort, headerTimeoutMs, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, crashes: [], stop };
}

function workDir(name: string, cert: Cert): string {
  const work = mkdtempSync(join(tmpdir(), `dispenser-conformance-${name}-`));
  // nginx workers run as an unprivileged user and must read these
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'tmp'));
  writeFileSync(join(work, 'cert.pem'), cert.certPem);
  writeFileSync(join(work, 'key.pem'), cert.keyPem);
  return work;
}

/** nginx as commonly configured in front of an app: keep-alive upstreams, Host and X-Forwarded-* set. */
export async function startNginx(backend: RecordingBackend, cert: Cert): Promise<Target> {
  const work = workDir('nginx', cert);
  const http = await freePort();
  const https = await freePort();
  const tls = `ssl_certificate ${work}/cert.pem; ssl_certificate_key ${work}/key.pem;`;
  const conf = `worker_processes 1;
pid ${work}/nginx.pid;
error_log stderr crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/tmp; proxy_temp_path ${work}/tmp; fastcgi_temp_path ${work}/tmp; uwsgi_temp_path ${work}/tmp; scgi_temp_path ${work}/tmp;
  client_header_timeout ${HEADER_TIMEOUT_MS}ms;
  upstream root { server 127.0.0.1:${backend.ports.root}; keepalive 16; }
  upstream public { server 127.0.0.1:${backend.ports.public}; keepalive 16; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $remote_addr;
  proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_connect_timeout 1s;
  proxy_read_timeout ${UPSTREAM_TIMEOUT_MS}ms;
  proxy_send_timeout ${UPSTREAM_TIMEOUT_MS}ms;
  server {
    listen 127.0.0.1:${http} default_server;
    listen 127.0.0.1:${https} ssl http2 default_server;
    ${tls}
    return 404;
  }
  server {
    listen 127.0.0.1:${http};
    listen 127.0.0.1:${https} ssl http2;
    server_name ${HOST};
    ${tls}
    location = /public { proxy_pass http://public; }
    location /public/ { proxy_pass http://public; }
    location / { proxy_pass http://root; }
  }
}
`;
  writeFileSync(join(work, 'nginx.conf'), conf);
  return childTarget('nginx', work, 'nginx', ['-c', join(work, 'nginx.conf'), '-p', work, '-e', 'stderr', '-g', 'daemon off;'], process.env, http, https, HEADER_TIMEOUT_MS);
}

/** Caddy with a Caddyfile: path matcher for /public, reverse_proxy with its defaults. */
export async function startCaddy(backend: RecordingBackend, cert: Cert): Promise<Target> {
  const work = workDir('caddy', cert);
  const http = await freePort();
  const https = await freePort();
  const proxy = (port: number) => `reverse_proxy 127.0.0.1:${port} {
      transport http {
        dial_timeout 1s
        response_header_timeout ${UPSTREAM_TIMEOUT_MS}ms
        read_timeout ${UPSTREAM_TIMEOUT_MS}ms
      }
    }`;
  const file = `{
  admin off
  auto_https off
  storage file_system ${work}/caddy
  servers {
    timeouts {
      read_header ${HEADER_TIMEOUT_MS}ms
    }
  }
}
(routes) {
  @public path /public /public/*
  handle @public {
    ${proxy(backend.ports.public!)}
  }
  handle {
    ${proxy(backend.ports.root!)}
  }
}
http://${HOST}:${http} {
  bind 127.0.0.1
  import routes
}
https://${HOST}:${https} {
  bind 127.0.0.1
  tls ${work}/cert.pem ${work}/key.pem
  import routes
}
http://:${http} {
  bind 127.0.0.1
  respond 404
}
`;
  writeFileSync(join(work, 'Caddyfile'), file);
  const env = { ...process.env, HOME: work, XDG_DATA_HOME: join(work, 'xdg-data'), XDG_CONFIG_HOME: join(work, 'xdg-config') };
  return childTarget('caddy', work, 'caddy', ['run', '--config', join(work, 'Caddyfile'), '--adapter', 'caddyfile'], env, http, https, HEADER_TIMEOUT_MS);
}
