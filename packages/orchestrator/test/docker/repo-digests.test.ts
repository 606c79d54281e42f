import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repoDigestFor } from '../../src/docker/repo-digests.js';

test('the running image digest: the one the registry shows when the image has several for the repository', () => {
  const A = 'sha256:0aaa';
  const B = 'sha256:9bbb';
  const cases: [string, string[], string, string | undefined, string | undefined][] = [
    ['one digest', [`reg:5000/app@${A}`], 'reg:5000/app', undefined, A],
    ['one digest, registry shows another', [`reg:5000/app@${A}`], 'reg:5000/app', B, A],
    // the engine sorts RepoDigests: without the hint the older digest may come first
    ['same image pushed twice, registry at the later digest', [`reg:5000/app@${A}`, `reg:5000/app@${B}`], 'reg:5000/app', B, B],
    ['same image pushed twice, no hint', [`reg:5000/app@${A}`, `reg:5000/app@${B}`], 'reg:5000/app', undefined, A],
    ['hint is a digest of another repository', [`reg:5000/other@${B}`, `reg:5000/app@${A}`], 'reg:5000/app', B, A],
    ['Docker Hub short names', [`nginx@${A}`], 'docker.io/library/nginx', A, A],
    ['built locally: no digest', [], 'reg:5000/app', A, undefined],
    ['the image as written in the config: tag and short name', [`nginx@${A}`, `reg:5000/app@${B}`], 'nginx:1.27', undefined, A],
    ['the image as written in the config: registry and tag', [`nginx@${A}`, `reg:5000/app@${B}`], 'reg:5000/app:v2', undefined, B],
    ['an image name that does not parse matches nothing', [`nginx@${A}`], 'Nginx', undefined, undefined],
  ];
  for (const [name, repoDigests, repo, prefer, want] of cases) assert.equal(repoDigestFor(repoDigests, repo, prefer), want, name);
});
