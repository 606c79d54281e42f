import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Pure conversions shared by validation and normalization. */

/** A route prefix as the original read it: "api", "/api/" → "/api"; "" and "/" → "/". */
export function normalizeProxyPath(path: string): string {
  return '/' + path.replace(/^\/+|\/+$/g, '');
}

/**
 * A volume source is a bind mount when it is written as a path (absolute, ./, ../, or with a
 * slash) or names something that exists in the service dir; otherwise it is a named volume.
 */
export function classifyVolumeSource(source: string, serviceDir: string, exists: (path: string) => boolean): { kind: 'bind' | 'volume'; source: string } {
  if (isAbsolute(source)) return { kind: 'bind', source: resolve(source) };
  const local = resolve(serviceDir, source);
  if (source.startsWith('./') || source.startsWith('../') || source === '.' || source === '..' || source.includes('/') || exists(local)) return { kind: 'bind', source: local };
  return { kind: 'volume', source };
}

/**
 * A relative cert_file/key_file: from the service dir; when it is not there but is in the
 * config dir, from there, where the original Dispenser read it (its working directory).
 */
export function resolveServiceFile(written: string, serviceDir: string, baseDir: string, exists: (path: string) => boolean): string {
  const own = resolve(serviceDir, written);
  if (isAbsolute(written) || exists(own)) return own;
  const original = resolve(baseDir, written);
  return exists(original) ? original : own;
}

/**
 * A telemetry base_uri: a URI is kept (less its trailing "/"), a path becomes a file:// URI.
 * The original resolved a relative path from its working directory, which its service unit
 * set to the config directory; here it resolves from the config directory itself.
 */
export function telemetryBaseUri(written: string, baseDir: string): string {
  const uri = URI.exec(written.trim());
  if (uri) return `${uri[1]!}://${uri[2]!.replace(/\/+$/, '')}`;
  return pathToFileURL(resolve(baseDir, written.trim())).href.replace(/\/+$/, '');
}

const URI = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;

/** "s3://bucket/x" → "s3"; undefined for a plain path. */
export function uriScheme(written: string): string | undefined {
  return URI.exec(written.trim())?.[1]?.toLowerCase();
}
