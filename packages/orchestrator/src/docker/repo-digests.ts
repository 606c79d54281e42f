import { canonicalRepository } from '../registry/reference.js';

/**
 * The registry digest of an image pulled as `image`, from its RepoDigests (`repository@digest`,
 * Docker Hub ones written short: `nginx@sha256:…`). One image can carry several for the same
 * repository (the same config and layers pushed again under another manifest: OCI media types, a
 * new attestation index); the engine lists them sorted, so the first is arbitrary. `prefer` (the
 * digest the registry shows now) wins when the image has it: it is that image too.
 */
export function repoDigestFor(repoDigests: readonly string[], image: string, prefer?: string): string | undefined {
  const repo = canonicalRepository(image);
  if (repo === undefined) return undefined;
  const mine: string[] = [];
  for (const rd of repoDigests) {
    const [r, digest] = rd.split('@');
    if (r && digest && canonicalRepository(r) === repo) mine.push(digest);
  }
  if (prefer !== undefined && mine.includes(prefer)) return prefer;
  return mine[0];
}
