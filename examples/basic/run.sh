#!/usr/bin/env bash
# Runs Dispenser on the example stack from a fresh clone: installs and starts a Docker Engine and a
# loopback registry if they are missing (Debian/Ubuntu, needs root), builds the example image
# into the registry, builds Dispenser, and runs it in the foreground (Ctrl-C stops it; the
# containers keep running, `npx dispenser down -c examples/basic/dispenser.toml` removes them).
# Then: curl -H 'Host: localhost' http://127.0.0.1:8080/
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v dockerd >/dev/null || ! command -v docker-registry >/dev/null; then
  bash scripts/infra/install.sh
fi
bash scripts/infra/start.sh
DOCKER_BUILDKIT=0 docker build -q -t 127.0.0.1:5000/dispenser-example/web:latest examples/basic/image >/dev/null
docker push -q 127.0.0.1:5000/dispenser-example/web:latest >/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
exec node packages/cli/bin/run.js -c examples/basic/dispenser.toml "$@"
