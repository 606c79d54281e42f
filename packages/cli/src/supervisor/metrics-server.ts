import { createServer, type Server, type ServerResponse } from 'node:http';
import type { MetricsSettings } from '@dispenser/shared/ipc/messages';
import type { Logger } from '@dispenser/shared/log';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from '@dispenser/shared/metrics/exposition';
import { errorMessage } from '@dispenser/shared/errors';
import type { MetricSample } from '@dispenser/shared/metrics/sample';

type Listen = MetricsSettings['listen'];

export interface Health {
  /** true when the orchestrator and every proxy worker answered and are ready */
  healthy: boolean;
  /** one line per process that is not, for the 503 body */
  problems: string[];
}

export interface MetricsSource {
  /** every process's samples (dispenser_up included) and the health they show */
  collect(): Promise<{ samples: MetricSample[]; health: Health }>;
}

/**
 * The `[metrics] listen` HTTP listener, hosted by the supervisor: `GET /metrics` (Prometheus text
 * format) and `GET /healthz` (200 only when the orchestrator and every proxy worker answer). It
 * follows the metrics-settings the orchestrator sends: opened, moved or closed on reload. A port
 * it cannot open is logged and Dispenser runs on without it.
 */
export class MetricsServer {
  private server: Server | undefined;
  private current: Listen = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: MetricsSource,
    private readonly log: Logger,
  ) {}

  /** The address in use, once listening (tests that ask for port 0 read the port from here). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  configure(listen: Listen): Promise<void> {
    this.queue = this.queue.then(() => this.apply(listen));
    return this.queue;
  }

  close(): Promise<void> {
    return this.configure(null);
  }

  private async apply(listen: Listen): Promise<void> {
    if (sameListen(this.current, listen)) return;
    if (this.server) {
      const old = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => old.close(() => resolve()));
      old.closeAllConnections();
      this.log.info('metrics listener closed');
    }
    this.current = listen;
    if (!listen) return;
    const server = createServer((req, res) => void this.handle(req.method, req.url, res));
    server.keepAliveTimeout = 5_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: listen.host, port: listen.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
      this.log.info({ host: listen.host, port: listen.port }, `metrics on http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}/metrics`);
    } catch (err) {
      // the next reload with the same address tries again
      this.current = null;
      this.log.error({ code: 'METRICS_LISTEN_FAILED', host: listen.host, port: listen.port, err: errorMessage(err) }, `metrics listener not opened on ${listen.host}:${listen.port}: ${errorMessage(err)}; Dispenser runs on without metrics`);
    }
  }

  private async handle(method: string | undefined, url: string | undefined, res: ServerResponse): Promise<void> {
    const path = (url ?? '/').split('?')[0];
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { allow: 'GET, HEAD' });
    if (path !== '/metrics' && path !== '/healthz') return send(res, 404, 'text/plain; charset=utf-8', 'Not found: try /metrics or /healthz\n');
    try {
      const { samples, health } = await this.source.collect();
      if (path === '/healthz') {
        return send(res, health.healthy ? 200 : 503, 'text/plain; charset=utf-8', health.healthy ? 'ok\n' : `${health.problems.join('\n')}\n`);
      }
      const { text, unknown } = renderExposition(samples);
      if (unknown.length) this.log.warn({ code: 'METRICS_UNKNOWN_SAMPLE', names: unknown }, `metrics left out, no family declares them: ${unknown.join(', ')}`);
      send(res, 200, EXPOSITION_CONTENT_TYPE, text);
    } catch (err) {
      send(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${errorMessage(err)}\n`);
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sameListen(a: Listen, b: Listen): boolean {
  return a === b || (a !== null && b !== null && a.host === b.host && a.port === b.port);
}
