/** The registry host of an image reference, the way docker decides it ("docker.io" by default). */
export function registryHost(ref: string): string {
  const first = ref.split('/')[0] ?? '';
  if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

/** "repo:tag" / "repo@sha256:…" → the repository part (as in RepoDigests: "host/path") */
export function repository(ref: string): string {
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

/** RepoDigests entries name Docker Hub images without "docker.io/" and official ones without "library/". */
export function sameRepository(a: string, b: string): boolean {
  const norm = (r: string): string => {
    let x = r;
    if (registryHost(x) === 'docker.io') {
      x = x.replace(/^(docker\.io|index\.docker\.io)\//, '');
      if (!x.includes('/')) x = `library/${x}`;
    }
    return x;
  };
  return norm(a) === norm(b);
}

/**
 * The registry digest of an image for `repo`, from its RepoDigests. One image can carry several
 * for the same repository (the same config and layers pushed again under another manifest: OCI
 * media types, a new attestation index); the engine lists them sorted, so the first is arbitrary.
 * `prefer` (the digest the registry shows now) wins when the image has it: it is that image too.
 */
export function repoDigestFor(repoDigests: readonly string[], repo: string, prefer?: string): string | undefined {
  const mine: string[] = [];
  for (const rd of repoDigests) {
    const [r, digest] = rd.split('@');
    if (r && digest && sameRepository(r, repo)) mine.push(digest);
  }
  if (prefer !== undefined && mine.includes(prefer)) return prefer;
  return mine[0];
}
