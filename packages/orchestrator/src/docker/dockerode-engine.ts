import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOGS_FOLLOW_RESTART_POLL_MS } from '@dispenser/shared/defaults';
import type {
  ContainerEngine,
  ContainerInfo,
  ContainerSpec,
  ContainerSummary,
  EngineEvent,
  LogOptions,
  LogStream,
  NetworkInfo,
  NetworkSpec,
  PullEvent,
  PullAuth,
  RestartPolicy,
} from './engine.js';
import { LogDemuxer } from './log-demux.js';
import { daemonUnavailable, engineMessage, isDaemonUnreachable, statusCode } from './errors.js';
import { DispenserError } from '@dispenser/shared/errors';

/** Newest Engine API version this code was written against; older daemons get their own. */
export const SUPPORTED_API_VERSION = '1.45';

export function compareApiVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

export interface DockerodeEngineOptions {
  /** dockerode connection options; default: DOCKER_HOST or /var/run/docker.sock */
  connection?: Docker.DockerOptions;
}

/**
 * ContainerEngine on dockerode. dockerode does not negotiate the API version, so the first call
 * asks the daemon (`/version`, unversioned) and pins min(daemon, SUPPORTED_API_VERSION). When the
 * daemon becomes unreachable the pin is dropped and taken again on the next call, so an upgraded
 * dockerd after a restart is handled too.
 */
export class DockerodeEngine implements ContainerEngine {
  private docker: Docker | undefined;
  private pinning: Promise<Docker> | undefined;
  private pinned = '';

  constructor(private readonly options: DockerodeEngineOptions = {}) {}

  private client(): Promise<Docker> {
    if (this.docker) return Promise.resolve(this.docker);
    this.pinning ??= (async () => {
      try {
        const probe = new Docker(this.options.connection);
        const v = await probe.version();
        const server = v.ApiVersion;
        const pinned = compareApiVersions(server, SUPPORTED_API_VERSION) < 0 ? server : SUPPORTED_API_VERSION;
        this.pinned = pinned;
        this.docker = new Docker({ ...this.options.connection, version: `v${pinned}` });
        return this.docker;
      } catch (err) {
        throw isDaemonUnreachable(err) ? daemonUnavailable(err) : err;
      } finally {
        this.pinning = undefined;
      }
    })();
    return this.pinning;
  }

  /** runs a call; an unreachable daemon drops the version pin and becomes DOCKER_UNAVAILABLE */
  private async call<T>(fn: (d: Docker) => Promise<T>): Promise<T> {
    const d = await this.client();
    try {
      return await fn(d);
    } catch (err) {
      if (isDaemonUnreachable(err)) {
        this.docker = undefined;
        throw daemonUnavailable(err);
      }
      throw err;
    }
  }

  async apiVersion(): Promise<string> {
    await this.client();
    return this.pinned;
  }

  listContainers(labels: readonly string[]): Promise<ContainerSummary[]> {
    return this.call(async (d) => {
      const list = await d.listContainers({ all: true, filters: { label: [...labels] } });
      return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {}, state: c.State }));
    });
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    return this.call(async (d) => {
      try {
        return await d.getContainer(idOrName).inspect();
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    });
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.call(async (d) => (await d.createContainer(spec)).id);
  }

  connectNetwork(network: string, container: string, aliases: readonly string[]): Promise<void> {
    return this.call(async (d) => {
      await d.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: [...aliases] } });
    });
  }

  startContainer(id: string): Promise<void> {
    return this.call(async (d) => {
      try {
        await d.getContainer(id).start();
      } catch (err) {
        if (statusCode(err) !== 304) throw err; // already started
      }
    });
  }

  stopContainer(id: string, timeoutS = 10): Promise<void> {
    return this.call(async (d) => {
      try {
        await d.getContainer(id).stop({ t: timeoutS });
      } catch (err) {
        if (statusCode(err) !== 304 && statusCode(err) !== 404) throw err;
      }
    });
  }

  removeContainer(id: string): Promise<void> {
    return this.call(async (d) => {
      try {
        await d.getContainer(id).remove({ force: true, v: false });
      } catch (err) {
        // 409: removal already in progress
        if (statusCode(err) !== 404 && statusCode(err) !== 409) throw err;
      }
    });
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.call(async (d) => {
      await d.getContainer(id).rename({ name });
    });
  }

  setRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    return this.call(async (d) => {
      await d.getContainer(id).update({ RestartPolicy: policy });
    });
  }

  waitContainer(id: string): Promise<number> {
    return this.call(async (d) => {
      const r = (await d.getContainer(id).wait({ condition: 'not-running' })) as { StatusCode: number };
      return r.StatusCode;
    });
  }

  containerLogs(id: string, tail: number): Promise<string[]> {
    return this.call(async (d) => {
      const container = d.getContainer(id);
      const info = await container.inspect();
      const raw = (await container.logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
      const text = info.Config.Tty ? raw.toString('utf8') : demultiplex(raw);
      return text.split('\n').filter((l) => l.length > 0).slice(-tail);
    });
  }

  async streamLogs(id: string, options: LogOptions, onData: (stream: LogStream, data: Buffer) => void, signal: AbortSignal): Promise<void> {
    if (!options.follow) return this.readLogs(id, options, onData, signal);
    // Docker ends a followed stream when the container stops; a restart (its restart policy,
    // `docker restart`) is followed on, from when it stopped, until the container is removed
    let current = options;
    for (;;) {
      const followedFrom = Date.now();
      await this.readLogs(id, current, onData, signal);
      if (signal.aborted) return;
      const since = await this.waitForRestart(id, followedFrom, signal);
      if (since === undefined) return;
      current = { follow: true, since };
    }
  }

  /** one `docker logs` call; with `follow`, until the container stops or `signal` aborts */
  private readLogs(id: string, options: LogOptions, onData: (stream: LogStream, data: Buffer) => void, signal: AbortSignal): Promise<void> {
    return this.call(async (d) => {
      const container = d.getContainer(id);
      const info = await container.inspect();
      const demux = new LogDemuxer(info.Config.Tty);
      const query = { stdout: true, stderr: true, timestamps: false, ...(options.tail !== undefined ? { tail: options.tail } : {}), ...(options.since !== undefined ? { since: options.since } : {}) };
      if (!options.follow) {
        const raw = (await container.logs({ ...query, follow: false })) as unknown as Buffer;
        for (const part of demux.push(raw)) onData(part.stream, part.data);
        return;
      }
      if (signal.aborted) return;
      const stream = (await container.logs({ ...query, follow: true, abortSignal: signal })) as unknown as Readable;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          stream.destroy();
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (chunk: Buffer) => {
          for (const part of demux.push(chunk)) onData(part.stream, part.data);
        });
        stream.on('end', () => resolve());
        stream.on('close', () => resolve());
        stream.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      });
    });
  }

  /**
   * After a followed stream ended: waits until the container runs again or has run again, and
   * gives the Unix time to read on from (when it stopped); undefined once it is removed or
   * `signal` aborts. A container still running (the stream ended for another reason) is read on
   * from when the stream ended, not from an older stop, which would repeat output.
   */
  private async waitForRestart(id: string, followedFrom: number, signal: AbortSignal): Promise<number | undefined> {
    const endedAt = Date.now();
    let stoppedAt: string | undefined;
    while (!signal.aborted) {
      const info = await this.inspectContainer(id);
      if (!info) return undefined;
      stoppedAt ??= info.State.FinishedAt;
      if (info.State.Running || info.State.FinishedAt !== stoppedAt) {
        const stopped = Date.parse(stoppedAt);
        return (stopped >= followedFrom ? stopped : endedAt) / 1000;
      }
      try {
        await sleep(LOGS_FOLLOW_RESTART_POLL_MS, undefined, { signal });
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  inspectImage(ref: string): Promise<Docker.ImageInspectInfo | undefined> {
    return this.call(async (d) => {
      try {
        return await d.getImage(ref).inspect();
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    });
  }

  pullImage(ref: string, auth: PullAuth | undefined, onEvent: (e: PullEvent) => void): Promise<void> {
    return this.call(async (d) => {
      const stream = (await d.pull(ref, auth ? { authconfig: auth } : {})) as Readable;
      let streamError: string | undefined;
      await new Promise<void>((resolve, reject) => {
        d.modem.followProgress(
          stream,
          (err: Error | null) => (err ? reject(err) : resolve()),
          (event: PullEvent & { errorDetail?: { message?: string } }) => {
            // followProgress does not fail on an error reported inside the stream: catch it here
            if (event.error) streamError ??= event.errorDetail?.message ?? event.error;
            onEvent(event);
          },
        );
      });
      if (streamError !== undefined) throw new DispenserError('IMAGE_PULL_FAILED', `pull of ${ref} failed: ${streamError}`);
    });
  }

  inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.call(async (d) => {
      try {
        return (await d.getNetwork(name).inspect()) as NetworkInfo;
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    });
  }

  createNetwork(spec: NetworkSpec): Promise<string> {
    return this.call(async (d) => (await d.createNetwork(spec)).id);
  }

  listNetworks(labels: readonly string[]): Promise<Array<{ id: string; name: string }>> {
    return this.call(async (d) => {
      const list = await d.listNetworks({ filters: { label: [...labels] } });
      return list.map((n) => ({ id: n.Id, name: n.Name }));
    });
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.call(async (d) => {
      try {
        await d.getNetwork(idOrName).remove();
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    });
  }

  subscribe(onEvent: (e: EngineEvent) => void, onEnd: (err?: Error) => void): Promise<() => void> {
    return this.call(async (d) => {
      const stream = (await d.getEvents({ filters: { type: ['container'] } })) as Readable;
      let ended = false;
      const end = (err?: Error): void => {
        if (ended) return;
        ended = true;
        if (err && isDaemonUnreachable(err)) this.docker = undefined;
        onEnd(err);
      };
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            const raw = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
            onEvent({ type: raw.Type ?? '', action: raw.Action ?? '', id: raw.Actor?.ID ?? '', attributes: raw.Actor?.Attributes ?? {} });
          } catch {
            // a malformed line is skipped; the stream itself is still good
          }
        }
      });
      stream.on('end', () => end());
      stream.on('close', () => end());
      stream.on('error', (err: Error) => end(err));
      return () => {
        ended = true;
        stream.destroy();
      };
    });
  }
}

/** Docker's log stream without a TTY: frames of [stream, 0, 0, 0, size(4, BE)] + payload. */
export function demultiplex(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export { engineMessage };
