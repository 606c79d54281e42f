#!/usr/bin/env bash
# Starts the real parts the tests use, all on loopback, and writes their coordinates to
# $DISPENSER_INFRA_DIR/env (source it). Idempotent: what already runs is reused.
#   dockerd            /var/run/docker.sock
#   docker-registry    127.0.0.1:5000 (anonymous)
#   pebble             https://127.0.0.1:14000/dir (HTTP-01 validated on port 5002, DNS from challtestsrv)
#   pebble-challtestsrv DNS on 127.0.0.1:8053 answering 127.0.0.1 for every name
#   base image         dispenser-test/busybox:base (FROM scratch + Debian's static busybox)
set -euo pipefail
INFRA=${DISPENSER_INFRA_DIR:-/tmp/dispenser-infra}
mkdir -p "$INFRA"
log() { echo "[infra] $*"; }
wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "[infra] $what did not come up" >&2; return 1
}

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >"$INFRA/dockerd.log" 2>&1 &
  wait_for dockerd docker info
fi

if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  log "starting docker-registry on 127.0.0.1:5000"
  cat >"$INFRA/registry.yml" <<YML
version: 0.1
log: { level: info, accesslog: { disabled: false } }
storage:
  filesystem: { rootdirectory: $INFRA/registry-data }
  delete: { enabled: true }
http: { addr: 127.0.0.1:5000 }
YML
  nohup docker-registry serve "$INFRA/registry.yml" >"$INFRA/registry.log" 2>&1 &
  wait_for registry curl -fsS http://127.0.0.1:5000/v2/
fi

if [ ! -f "$INFRA/pebble/cert.pem" ]; then
  mkdir -p "$INFRA/pebble"
  # Pebble's own HTTPS certificate; tests trust it through NODE_EXTRA_CA_CERTS / an agent's `ca`.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$INFRA/pebble/key.pem" -out "$INFRA/pebble/cert.pem" 2>/dev/null
  cat >"$INFRA/pebble/config.json" <<JSON
{ "pebble": { "listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$INFRA/pebble/cert.pem", "privateKey": "$INFRA/pebble/key.pem",
  "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false } }
JSON
fi
if ! curl -fsS --cacert "$INFRA/pebble/cert.pem" https://127.0.0.1:14000/dir >/dev/null 2>&1; then
  log "starting pebble-challtestsrv (DNS 127.0.0.1:8053) and pebble (127.0.0.1:14000)"
  nohup pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:8053 \
    -http01 "" -https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 >"$INFRA/challtestsrv.log" 2>&1 &
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 nohup pebble -config "$INFRA/pebble/config.json" \
    -dnsserver 127.0.0.1:8053 >"$INFRA/pebble.log" 2>&1 &
  wait_for pebble curl -fsS --cacert "$INFRA/pebble/cert.pem" https://127.0.0.1:14000/dir
fi

if ! docker image inspect dispenser-test/busybox:base >/dev/null 2>&1; then
  log "building dispenser-test/busybox:base from Debian's static busybox"
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t dispenser-test/busybox:base "$ctx" >/dev/null
  rm -rf "$ctx"
fi

cat >"$INFRA/env" <<ENV
export DISPENSER_INFRA_DIR=$INFRA
export DISPENSER_TEST_REGISTRY=127.0.0.1:5000
export DISPENSER_TEST_REGISTRY_LOG=$INFRA/registry.log
export DISPENSER_TEST_PEBBLE_DIRECTORY=https://127.0.0.1:14000/dir
export DISPENSER_TEST_PEBBLE_CA=$INFRA/pebble/cert.pem
export DISPENSER_TEST_PEBBLE_HTTP_PORT=5002
export DISPENSER_TEST_CHALLTESTSRV=http://127.0.0.1:8055
export DISPENSER_TEST_BASE_IMAGE=dispenser-test/busybox:base
ENV
log "ready; source $INFRA/env"
