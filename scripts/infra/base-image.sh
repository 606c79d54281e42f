#!/usr/bin/env bash
# Builds the image the Docker tests and benchmarks run their containers from, if it is missing:
# dispenser-test/busybox:base (or $DISPENSER_TEST_BASE_IMAGE), FROM scratch + Debian's static
# busybox (package busybox-static).
# Needs only a running Docker engine; start.sh and `npm run bench` call it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INFRA=${DISPENSER_INFRA_DIR:-/tmp/dispenser-infra}
# shellcheck source=lib.sh
source "$here/lib.sh"
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && exit 0
docker info >/dev/null 2>&1 || { log "cannot build $BASE_IMAGE: the Docker engine does not answer (bash scripts/infra/start.sh starts it)"; exit 1; }
busybox=/bin/busybox  # static with busybox-static; the image has no libc
[ -x "$busybox" ] || { log "cannot build $BASE_IMAGE: no $busybox (bash scripts/infra/install.sh installs busybox-static)"; exit 1; }
log "building $BASE_IMAGE from Debian's static busybox"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$busybox" "$ctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
# The legacy builder: BuildKit may be missing; its deprecation notice is only shown on failure.
DOCKER_BUILDKIT=0 docker build -q -t "$BASE_IMAGE" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
