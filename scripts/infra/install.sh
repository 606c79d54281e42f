#!/usr/bin/env bash
# Debian packages the tests and benchmarks need. Safe to run again.
set -euo pipefail
# gcc, libc6-dev: the proxy's native addons (packages/proxy/native), required in CI
# systemd: systemd-socket-activate, for the socket activation e2e test (test/e2e/socket-activation.test.ts)
# prometheus: promtool, which checks the /metrics output (packages/shared/test/metrics/exposition.test.ts, test/e2e/metrics.test.ts)
pkgs=(docker.io docker-registry pebble busybox-static curl openssl apache2-utils gcc libc6-dev systemd prometheus)
[ "${1:-}" = "--bench" ] && pkgs+=(nginx-light caddy wrk nghttp2-client)
[ "${1:-}" = "--package" ] && pkgs+=(rpm)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
