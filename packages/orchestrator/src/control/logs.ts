import { DispenserError } from '@dispenser/shared/errors';
import type { ContainerEngine, LogOptions, LogStream } from '../docker/engine.js';
import { LineBuffer } from '../docker/log-demux.js';
import type { Services } from '../services.js';

export interface LogChunk {
  stream: LogStream;
  text: string;
}

/**
 * `dispenser logs`: a service's container output, line by line, each line scrubbed of the current
 * configuration's secrets before it leaves the orchestrator. Resolves when the output ends or
 * `signal` aborts; rejects with SERVICE_UNKNOWN, CONTAINER_NOT_FOUND or LOGS_FAILED.
 */
export async function streamServiceLogs(
  engine: ContainerEngine,
  services: Services,
  service: string,
  options: LogOptions,
  onChunk: (chunk: LogChunk) => void,
  signal: AbortSignal,
): Promise<void> {
  services.service(service);
  const container = await services.ownContainer(service);
  if (!container) {
    throw new DispenserError('CONTAINER_NOT_FOUND', `service ${service} has no container`, {
      hint: 'it has not been created yet (a cron or on-trigger job before its first run), or it was removed; `dispenser status` shows its state',
    });
  }
  const lines = new LineBuffer();
  // read at each line: a reload while following changes the secrets to scrub
  const send = (stream: LogStream, text: string): void => onChunk({ stream, text: services.redact(text) });
  try {
    await engine.streamLogs(
      container.Id,
      options,
      (stream, data) => {
        const text = lines.push(stream, data);
        if (text !== undefined) send(stream, text);
      },
      signal,
    );
  } catch (err) {
    if (err instanceof DispenserError) throw err;
    throw new DispenserError('LOGS_FAILED', `cannot read the output of ${service}'s container: ${(err as Error).message}`, { cause: err, hint: 'is dockerd running?' });
  }
  for (const rest of lines.flush()) send(rest.stream, rest.text);
}
