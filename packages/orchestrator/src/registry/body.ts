import type { Dispatcher } from 'undici';
import { RegistryError } from './errors.js';
import { isTimeout } from './transport.js';

/** Docker refuses manifests above 4 MiB; a bigger body is a broken or hostile registry, not an image. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Reads a response body of at most `maxBytes`, without ever holding more: a registry that sends
 * more (or announces more in Content-Length) is cut off at once, so it cannot grow our memory.
 * A body that stops arriving before the request's timeout is a REGISTRY_TIMEOUT like a silent
 * server; any other broken body is REGISTRY_UNREACHABLE.
 */
export async function readCapped(res: Dispatcher.ResponseData, maxBytes: number, what: string): Promise<Buffer> {
  const tooLarge = (): RegistryError =>
    new RegistryError('REGISTRY_RESPONSE_TOO_LARGE', `${what} sent a response larger than ${maxBytes} bytes; stopped reading it`, {
      scope: 'registry',
      status: res.statusCode,
      hint: 'a manifest is never this large: the registry (or a proxy in front of it) is broken or hostile',
    });
  const announced = Number(res.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        res.body.destroy();
        throw tooLarge();
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    if (isTimeout(err)) throw new RegistryError('REGISTRY_TIMEOUT', `${what} stopped sending its response before the timeout`, { scope: 'registry', cause: err, hint: 'the registry accepted the request but is too slow or hung; it is asked again after the backoff' });
    throw new RegistryError('REGISTRY_UNREACHABLE', `${what} broke off its response`, { scope: 'registry', cause: err });
  }
  return Buffer.concat(chunks, size);
}

/**
 * Throws away a body we do not need (errors, HEAD). undici reads at most a little of it before
 * closing the connection; a body that breaks or stalls is not the check's failure.
 */
export async function discard(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump();
  } catch {
    res.body.destroy();
  }
}
