import type Docker from 'dockerode';
import type { LogStream } from './log-demux.js';

export type { LogStream };

/**
 * The part of the Docker Engine API the orchestrator uses. The applier, `down` and the Deployer
 * methods reach Docker only through this; the planner never does.
 */
export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };
export type ContainerInfo = Docker.ContainerInspectInfo;
export type NetworkInfo = Docker.NetworkInspectInfo;
export type NetworkSpec = Docker.NetworkCreateOptions;

export type RestartPolicy = NonNullable<NonNullable<Docker.ContainerCreateOptions['HostConfig']>['RestartPolicy']>;

export interface ContainerSummary {
  id: string;
  /** without the leading '/' */
  name: string;
  labels: Readonly<Record<string, string>>;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
}

/** Credentials for one pull, in the shape the Engine API's X-Registry-Auth header takes. */
export interface PullAuth {
  username: string;
  password: string;
  /** OAuth2 refresh token from `docker login` against registries that issue one */
  identitytoken?: string;
  serveraddress: string;
}

/** One line of a pull's progress stream. */
export interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
}

export interface LogOptions {
  follow: boolean;
  /** the last N lines only */
  tail?: number;
  /** Unix seconds */
  since?: number;
}

export interface EngineEvent {
  type: string;
  action: string;
  id: string;
  attributes: Readonly<Record<string, string>>;
}

export interface ContainerEngine {
  /** the API version requests are pinned to, e.g. "1.41" */
  apiVersion(): Promise<string>;
  /** every container (running or not) matching all the label filters ("k=v" or "k") */
  listContainers(labels: readonly string[]): Promise<ContainerSummary[]>;
  /** undefined when no such container exists */
  inspectContainer(idOrName: string): Promise<ContainerInfo | undefined>;
  createContainer(spec: ContainerSpec): Promise<string>;
  connectNetwork(network: string, container: string, aliases: readonly string[]): Promise<void>;
  startContainer(id: string): Promise<void>;
  /** no error when already stopped */
  stopContainer(id: string, timeoutS?: number): Promise<void>;
  /** force-removes; no error when already gone */
  removeContainer(id: string): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  /** changes the restart policy of an existing (possibly running) container */
  setRestartPolicy(id: string, policy: RestartPolicy): Promise<void>;
  /** resolves with the exit code once the container is not running */
  waitContainer(id: string): Promise<number>;
  /** the last `tail` lines of the container's stdout and stderr, interleaved as written */
  containerLogs(id: string, tail: number): Promise<string[]>;
  /**
   * The container's output, stdout and stderr apart, handed to `onData` as it arrives. Resolves
   * when the output ends (at once after what exists without `follow`; with it, when the container
   * is removed or `signal` aborts).
   */
  streamLogs(id: string, options: LogOptions, onData: (stream: LogStream, data: Buffer) => void, signal: AbortSignal): Promise<void>;
  inspectImage(ref: string): Promise<Docker.ImageInspectInfo | undefined>;
  /** rejects when the stream reports an error, even though the HTTP call succeeded */
  pullImage(ref: string, auth: PullAuth | undefined, onEvent: (e: PullEvent) => void): Promise<void>;
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  listNetworks(labels: readonly string[]): Promise<Array<{ id: string; name: string }>>;
  removeNetwork(idOrName: string): Promise<void>;
  /**
   * Subscribes to the engine's event stream. `onEnd` is called once when the stream ends or fails
   * (dockerd restarted or stopped); subscribe again to resume. Returns an unsubscribe function.
   */
  subscribe(onEvent: (e: EngineEvent) => void, onEnd: (err?: Error) => void): Promise<() => void>;
}
