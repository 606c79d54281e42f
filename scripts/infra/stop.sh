#!/usr/bin/env bash
# Stops the registry, Pebble and challtestsrv that start.sh started for this infra directory
# (DISPENSER_INFRA_DIR, default /tmp/dispenser-infra), and dockerd if start.sh started it.
# Processes it did not start are left alone. Data, certificates and logs stay.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INFRA=${DISPENSER_INFRA_DIR:-/tmp/dispenser-infra}
[ -d "$INFRA" ] || exit 0
INFRA=$(cd "$INFRA" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
stop_ours pebble "pebble -config $INFRA/pebble/config.json"
stop_ours challtestsrv pebble-challtestsrv
stop_ours registry "docker-registry serve $INFRA/registry.yml"
stop_ours dockerd dockerd
rm -f "$INFRA/env"
