import { authKey, DockerCredentials } from '../registry/credentials.js';
import { parseReference } from '../registry/reference.js';
import type { PullAuth } from './engine.js';

/**
 * Registry credentials for a pull. The daemon does not read the Docker config file on API calls,
 * so the orchestrator looks them up the way `docker pull` does — credHelpers, credsStore, auths
 * of $DOCKER_CONFIG/config.json or ~/.docker/config.json — through the same source the registry
 * watcher uses, and passes them explicitly.
 */
export function pullAuthSource(credentials = new DockerCredentials()): (image: string) => Promise<PullAuth | undefined> {
  return async (image) => {
    const { registry } = parseReference(image);
    const found = await credentials.get(registry);
    if (!found) return undefined;
    const serveraddress = authKey(registry);
    return found.kind === 'basic'
      ? { username: found.username, password: found.password, serveraddress }
      : { username: found.username, password: '', identitytoken: found.token, serveraddress };
  };
}
