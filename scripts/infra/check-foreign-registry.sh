#!/usr/bin/env bash
# Checks that start.sh never hands the tests a registry it did not start. Runs a "foreign"
# docker-registry (as a developer's own registry on 5000 would be) on the port start.sh prefers
# (5000 when free), then start.sh in a fresh infra directory, and expects: the env file names
# another address, that registry writes the access log the env file names, and a second start.sh
# reuses it. Everything
# it starts is stopped again (dockerd too, if it had to start it). Needs docker-registry, pebble,
# curl and Docker; leaves the infra directory in use (default /tmp/dispenser-infra) alone.
#   bash scripts/infra/check-foreign-registry.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dispenser-foreign-registry.XXXXXX")
foreign_pid=
cleanup() {
  DISPENSER_INFRA_DIR=$tmp/infra bash "$here/stop.sh" 2>/dev/null || true
  [ -z "$foreign_pid" ] || kill "$foreign_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 5000 when free, as on a machine with no test infra yet: exactly the case of a developer's own
# registry. Otherwise a free port, made the one start.sh prefers.
port=5000
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
fi
mkdir -p "$tmp/foreign"
printf 'version: 0.1\nstorage:\n  filesystem: { rootdirectory: %s/foreign/data }\nhttp: { addr: 127.0.0.1:%s }\n' "$tmp" "$port" >"$tmp/foreign/config.yml"
docker-registry serve "$tmp/foreign/config.yml" >"$tmp/foreign/log" 2>&1 &
foreign_pid=$!
for _ in $(seq 1 40); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null || fail "the foreign registry did not start"
echo "foreign registry on 127.0.0.1:$port"

DISPENSER_INFRA_DIR=$tmp/infra DISPENSER_TEST_REGISTRY_PORT=$port bash "$here/start.sh"
# shellcheck disable=SC1091
source "$tmp/infra/env"
[ "$DISPENSER_TEST_REGISTRY" != "127.0.0.1:$port" ] || fail "the env file names the foreign registry 127.0.0.1:$port"
probe=foreign-registry-check-$RANDOM
curl -sS -o /dev/null "http://$DISPENSER_TEST_REGISTRY/v2/$probe/tags/list" || fail "nothing answers on $DISPENSER_TEST_REGISTRY"
sleep 0.2
grep -q "/v2/$probe/tags/list" "$DISPENSER_TEST_REGISTRY_LOG" \
  || fail "a request to $DISPENSER_TEST_REGISTRY is not in $DISPENSER_TEST_REGISTRY_LOG: the tests would read a log nobody writes"
grep -q "/v2/$probe/" "$tmp/foreign/log" && fail "the request reached the foreign registry"
first=$DISPENSER_TEST_REGISTRY

DISPENSER_INFRA_DIR=$tmp/infra DISPENSER_TEST_REGISTRY_PORT=$port bash "$here/start.sh"
# shellcheck disable=SC1091
source "$tmp/infra/env"
[ "$DISPENSER_TEST_REGISTRY" = "$first" ] || fail "a second start.sh did not reuse its registry ($first, now $DISPENSER_TEST_REGISTRY)"
kill -0 "$foreign_pid" 2>/dev/null || fail "the foreign registry was stopped"
echo "PASS: the foreign registry on 127.0.0.1:$port was left alone; the tests use $first and its log"
