import { DispenserError } from '@dispenser/shared/errors';

/**
 * An image reference normalized the way the Docker CLI does it: `nginx` is
 * `docker.io/library/nginx:latest`, `localhost:5000/app` is on registry `localhost:5000`.
 */
export interface ImageReference {
  /** registry as written (normalized): `docker.io`, `ghcr.io`, `127.0.0.1:5000` */
  registry: string;
  /** repository path inside the registry: `library/nginx` */
  repository: string;
  /** tag; `latest` when neither a tag nor a digest was given */
  tag?: string;
  /** `sha256:…` when the reference pins a digest */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** the host that actually serves Docker Hub's registry API */
export const DOCKER_HUB_API = 'registry-1.docker.io';
/** the key Docker uses for Docker Hub in config.json `auths` and credential helpers */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

function bad(ref: string, why: string): DispenserError {
  return new DispenserError('IMAGE_REFERENCE_INVALID', `invalid image reference "${ref}": ${why}`, {
    hint: 'write it as [registry[:port]/]repository[:tag][@sha256:digest], repository in lowercase',
  });
}

export function parseReference(ref: string): ImageReference {
  const input = ref.trim();
  if (input === '') throw bad(ref, 'empty');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(ref, `"${digest}" is not a digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(ref, `"${tag}" is not a valid tag`);
  }
  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry when it looks like a host name.
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw bad(ref, `"${first}" is not a registry host`);
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (path === '') throw bad(ref, 'no repository');
  for (const component of path.split('/')) {
    if (!COMPONENT.test(component)) {
      throw bad(ref, component.toLowerCase() !== component ? 'repository names must be lowercase' : `"${component}" is not a valid path component`);
    }
  }
  if (path.length > 255) throw bad(ref, 'repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/**
 * `registry/repository` of a reference, normalized ("nginx:1" → "docker.io/library/nginx"), or
 * undefined when it does not parse. The digest is not looked at: this is for pairing a reference
 * with an image's RepoDigests, whose digests are the registry's.
 */
export function canonicalRepository(ref: string): string | undefined {
  const at = ref.indexOf('@');
  try {
    const { registry, repository } = parseReference(at >= 0 ? ref.slice(0, at) : ref);
    return `${registry}/${repository}`;
  } catch {
    return undefined;
  }
}

export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** host[:port] that serves the registry API */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

function hostname(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const i = registry.lastIndexOf(':');
  return i >= 0 ? registry.slice(0, i) : registry;
}

/** Docker treats loopback registries as insecure without configuration (plain HTTP allowed). */
export function isLoopback(registry: string): boolean {
  const h = hostname(registry).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
