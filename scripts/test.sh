#!/usr/bin/env bash
# The test command: installs (Debian/Ubuntu, needs root) and starts the real parts the tests use —
# Docker Engine, a loopback registry, Pebble — then installs dependencies and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/infra/install.sh
bash scripts/infra/start.sh
# shellcheck disable=SC1091
source "${DISPENSER_INFRA_DIR:-/tmp/dispenser-infra}/env"
export DISPENSER_REQUIRE_INFRA=${DISPENSER_REQUIRE_INFRA:-1}
# the proxy's native addons must build and load here (a missing compiler would otherwise only skip its test)
export DISPENSER_REQUIRE_NATIVE=${DISPENSER_REQUIRE_NATIVE:-1}
npm ci --no-audit --no-fund
npm test
