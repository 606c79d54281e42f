/**
 * Writes manifests straight to the loopback registry, for cases `docker push` cannot produce:
 * the same image (same config and layers) under a second manifest digest, as when CI re-pushes
 * an image with another tool (OCI media types, annotations, a new attestation index).
 */
import { createHash } from 'node:crypto';

const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Re-pushes the image behind `repository:tag` as an OCI manifest (same config, same layers, so
 * the same image ID for the engine) under the same tag. `accept` picks among candidate digests
 * (each try adds a different annotation), e.g. to get one that sorts before another.
 */
export async function pushOciCopy(registry: string, repository: string, tag: string, accept: (digest: string) => boolean = () => true): Promise<string> {
  const base = `http://${registry}/v2/${repository}/manifests`;
  const res = await fetch(`${base}/${tag}`, { headers: { accept: DOCKER_V2 } });
  if (!res.ok) throw new Error(`GET ${base}/${tag}: ${res.status}`);
  const docker = (await res.json()) as { config: Descriptor; layers: Descriptor[] };
  for (let i = 0; i < 200; i++) {
    const oci = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...docker.config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: docker.layers.map((l) => ({ ...l, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
      annotations: { 'dispenser.test.copy': String(i) },
    };
    const body = Buffer.from(JSON.stringify(oci));
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (!accept(digest)) continue;
    const put = await fetch(`${base}/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body });
    if (put.status !== 201) throw new Error(`PUT ${base}/${tag}: ${put.status} ${await put.text()}`);
    const stored = put.headers.get('docker-content-digest');
    if (stored !== digest) throw new Error(`registry stored ${stored}, expected ${digest}`);
    return digest;
  }
  throw new Error('no acceptable manifest digest in 200 tries');
}
