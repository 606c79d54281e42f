#!/usr/bin/env bash
# Starts the real parts the tests use, all on loopback, and writes their coordinates to
# $DISPENSER_INFRA_DIR/env (source it; the tests also read it when it is not sourced).
# Idempotent: what this infra directory already runs is reused.
#   dockerd             /var/run/docker.sock (any running engine is used)
#   docker-registry     127.0.0.1:5000 (anonymous; DISPENSER_TEST_REGISTRY_PORT picks another)
#   pebble              https://127.0.0.1:14000/dir, management :15000 (HTTP-01 validated on port
#                       5002, DNS from challtestsrv)
#   pebble-challtestsrv DNS on 127.0.0.1:8053 answering 127.0.0.1 for every name, management :8055
#   base image          dispenser-test/busybox:base (scripts/infra/base-image.sh)
#
# The registry, Pebble and challtestsrv are ours only when the pid file in $DISPENSER_INFRA_DIR
# names a live process started with this directory's config file. Anything else answering on
# a default port belongs to someone else (a developer's own registry on 5000, another checkout's
# infra): it is left alone and ours is started on a free port instead, which the env file names.
# The tests read the registry's access log, so reusing a registry that is not ours would make
# them read a log nobody writes. scripts/infra/stop.sh stops what this directory started.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INFRA=${DISPENSER_INFRA_DIR:-/tmp/dispenser-infra}
mkdir -p "$INFRA"
INFRA=$(cd "$INFRA" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >"$INFRA/dockerd.log" 2>&1 &
  echo $! >"$INFRA/dockerd.pid"
  wait_for dockerd docker info
fi

# --- registry -------------------------------------------------------------------------------------
registry_cmd="docker-registry serve $INFRA/registry.yml"
registry_addr=
if ours registry "$registry_cmd"; then
  registry_addr=$(sed -n 's/^http: { addr: \(.*\) }$/\1/p' "$INFRA/registry.yml")
  curl -fsS "http://$registry_addr/v2/" >/dev/null 2>&1 || registry_addr=
fi
if [ -z "$registry_addr" ]; then
  stop_ours registry "$registry_cmd"
  registry_addr=127.0.0.1:$(pick_port "${DISPENSER_TEST_REGISTRY_PORT:-5000}" registry)
  log "starting docker-registry on $registry_addr"
  cat >"$INFRA/registry.yml" <<YML
version: 0.1
log: { level: info, accesslog: { disabled: false } }
storage:
  filesystem: { rootdirectory: $INFRA/registry-data }
  delete: { enabled: true }
http: { addr: $registry_addr }
YML
  # shellcheck disable=SC2086 # the command is words without spaces inside them
  nohup $registry_cmd >"$INFRA/registry.log" 2>&1 &
  echo $! >"$INFRA/registry.pid"
  wait_for registry curl -fsS "http://$registry_addr/v2/"
fi

# --- Pebble and its DNS ---------------------------------------------------------------------------
if [ ! -f "$INFRA/pebble/cert.pem" ]; then
  mkdir -p "$INFRA/pebble"
  # Pebble's own HTTPS certificate; tests trust it through NODE_EXTRA_CA_CERTS / an agent's `ca`.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$INFRA/pebble/key.pem" -out "$INFRA/pebble/cert.pem" 2>/dev/null
fi
pebble_cmd="pebble -config $INFRA/pebble/config.json"
pebble_ok=
if ours pebble "$pebble_cmd"; then
  # A Pebble started by an earlier start.sh, which used the default ports and wrote no ports file.
  [ -f "$INFRA/pebble/ports" ] || printf '%s\n' 'pebble_port=14000 pebble_mgmt_port=15000 pebble_http_port=5002' \
    'pebble_tls_port=5001 dns_port=8053 challtestsrv_port=8055' >"$INFRA/pebble/ports"
  # shellcheck disable=SC1091
  source "$INFRA/pebble/ports"
  curl -fsS --cacert "$INFRA/pebble/cert.pem" "https://127.0.0.1:$pebble_port/dir" >/dev/null 2>&1 && pebble_ok=1
fi
if [ -z "$pebble_ok" ]; then
  stop_ours pebble "$pebble_cmd"
  stop_ours challtestsrv pebble-challtestsrv
  pebble_port=$(pick_port 14000 pebble)
  pebble_mgmt_port=$(pick_port 15000 "pebble management")
  pebble_http_port=$(pick_port 5002 "pebble HTTP-01 validation")
  pebble_tls_port=$(pick_port 5001 "pebble TLS-ALPN-01 validation")
  dns_port=$(pick_port 8053 challtestsrv)
  challtestsrv_port=$(pick_port 8055 "challtestsrv management")
  cat >"$INFRA/pebble/ports" <<PORTS
pebble_port=$pebble_port pebble_mgmt_port=$pebble_mgmt_port pebble_http_port=$pebble_http_port
pebble_tls_port=$pebble_tls_port dns_port=$dns_port challtestsrv_port=$challtestsrv_port
PORTS
  cat >"$INFRA/pebble/config.json" <<JSON
{ "pebble": { "listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$pebble_mgmt_port",
  "certificate": "$INFRA/pebble/cert.pem", "privateKey": "$INFRA/pebble/key.pem",
  "httpPort": $pebble_http_port, "tlsPort": $pebble_tls_port, "ocspResponderURL": "", "externalAccountBindingRequired": false } }
JSON
  log "starting pebble-challtestsrv (DNS 127.0.0.1:$dns_port) and pebble (127.0.0.1:$pebble_port)"
  nohup pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns_port" \
    -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$challtestsrv_port" >"$INFRA/challtestsrv.log" 2>&1 &
  echo $! >"$INFRA/challtestsrv.pid"
  # shellcheck disable=SC2086
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 nohup $pebble_cmd \
    -dnsserver "127.0.0.1:$dns_port" >"$INFRA/pebble.log" 2>&1 &
  echo $! >"$INFRA/pebble.pid"
  wait_for pebble curl -fsS --cacert "$INFRA/pebble/cert.pem" "https://127.0.0.1:$pebble_port/dir"
fi

bash "$here/base-image.sh"

cat >"$INFRA/env" <<ENV
export DISPENSER_INFRA_DIR=$INFRA
export DISPENSER_TEST_REGISTRY=$registry_addr
export DISPENSER_TEST_REGISTRY_LOG=$INFRA/registry.log
export DISPENSER_TEST_PEBBLE_DIRECTORY=https://127.0.0.1:$pebble_port/dir
export DISPENSER_TEST_PEBBLE_MANAGEMENT=https://127.0.0.1:$pebble_mgmt_port
export DISPENSER_TEST_PEBBLE_CA=$INFRA/pebble/cert.pem
export DISPENSER_TEST_PEBBLE_HTTP_PORT=$pebble_http_port
export DISPENSER_TEST_CHALLTESTSRV=http://127.0.0.1:$challtestsrv_port
export DISPENSER_TEST_BASE_IMAGE=$BASE_IMAGE
ENV
log "ready; source $INFRA/env"
