#!/usr/bin/env bash
# Packaging test, run as root on a Debian machine (CI, after the main tests): builds both packages,
# installs the .deb on this machine and checks what a user gets (user, groups, files, modes, unit,
# the CLI running as the dispenser user), reinstalls, removes, reinstalls and purges it; then
# inspects the .rpm (files, scriptlets, requirements) and installs it; then installs both over
# stand-ins for the original Rust Dispenser's packages (test-takeover.sh). Prints PASS/FAIL per
# check and a summary; exits 1 if anything failed.
#
# DISPENSER_PACKAGE_SKIP_BUILD=1 tests the packages already in dist/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
unit_path=/usr/lib/systemd/system/dispenser.service
wants=/etc/systemd/system/multi-user.target.wants/dispenser.service
docker_wants=/etc/systemd/system/docker.service.wants/dispenser.service
home=/opt/dispenser
config=$home/dispenser.toml

passed=0 failed=0 skipped=0 failures=()
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/      | /'; }
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s\n' "$1"; }
# check NAME COMMAND...: passes when the command succeeds; its output is shown on failure.
check() { local name=$1 out; shift; if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi; }
section() { printf '\n== %s\n' "$*"; }
abort() { printf 'test.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || abort "run as root (it installs the .deb on this machine)"
command -v dpkg >/dev/null || abort "needs dpkg"
command -v rpm >/dev/null || abort "needs rpm (scripts/infra/install.sh --package)"
# Purging deletes /opt/dispenser: never run over a real installation.
if dpkg-query -W -f='${Status}' dispenser 2>/dev/null | grep -q 'installed\|config-files'; then
  abort "the dispenser package is already on this machine; remove it first (dpkg --purge dispenser)"
fi
[ ! -e "$home" ] || abort "$home exists and purge would delete it; move it away first"
if command -v rpm >/dev/null && rpm -q dispenser >/dev/null 2>&1; then
  abort "the dispenser rpm is installed in this machine's rpm database; rpm -e --nodeps dispenser first"
fi

user_existed=0; getent passwd dispenser >/dev/null && user_existed=1
docker_group_existed=0; getent group docker >/dev/null && docker_group_existed=1
# Drops the user (and group) the packages created when this test run was the one to create them.
drop_created_user() {
  if [ $user_existed = 0 ] && getent passwd dispenser >/dev/null; then userdel dispenser; fi
  if [ $user_existed = 0 ] && getent group dispenser >/dev/null; then groupdel dispenser; fi
  if [ $docker_group_existed = 0 ] && getent group docker >/dev/null; then groupdel docker; fi
}

# Whatever happens, leave the machine as found.
cleanup() {
  if dpkg-query -W -f='${Status}' dispenser 2>/dev/null | grep -q 'installed\|config-files'; then
    dpkg --purge dispenser >/dev/null 2>&1
  fi
  if rpm -q dispenser >/dev/null 2>&1; then rpm -e --nodeps dispenser >/dev/null 2>&1; fi
  rm -rf "$home"
  drop_created_user
}
trap cleanup EXIT

npm_version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
version=${npm_version//-/\~}
deb=$repo/dist/dispenser_${version}_amd64.deb
rpm_file=$repo/dist/dispenser-${version}-1.x86_64.rpm

section "build"
started=$SECONDS
if [ "${DISPENSER_PACKAGE_SKIP_BUILD:-}" = 1 ]; then
  skip "build (DISPENSER_PACKAGE_SKIP_BUILD=1)"
elif out=$(bash "$here/build.sh" 2>&1); then
  pass "npm run package builds both packages ($((SECONDS - started)) s)"
else
  fail "build.sh" "$(printf '%s\n' "$out" | tail -30)"
fi
check "dist/$(basename "$deb") exists" test -s "$deb"
check "dist/$(basename "$rpm_file") exists" test -s "$rpm_file"
[ -s "$deb" ] && [ -s "$rpm_file" ] || { printf '\nFAIL: no packages to test\n'; exit 1; }

# Runs a command as the dispenser user from its home, as systemd does.
as_dispenser() { (cd "$home" && timeout 60 runuser -u dispenser -- "$@"); }

section ".deb: install"
if out=$(dpkg -i "$deb" 2>&1); then pass "dpkg -i succeeds without a running systemd"; else fail "dpkg -i" "$out"; fi
if [ -d /run/systemd/system ]; then
  skip "no-systemd message (systemd is running here)"
else
  check "postinst says it did not start the unit" grep -q 'systemd is not running' <<<"$out"
fi

section ".deb: user, group, directory, config"
IFS=: read -r _ _ uid _ _ user_home user_shell < <(getent passwd dispenser) || true
check "user dispenser exists" getent passwd dispenser
check "dispenser is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
check "home is $home" test "${user_home:-}" = "$home"
check "login shell is nologin ($user_shell)" grep -q 'nologin\|false' <<<"${user_shell:-}"
check "group docker exists" getent group docker
check "dispenser is in the docker group" grep -qw docker <<<"$(id -nG dispenser 2>&1)"
check "$home is a directory, 0710, dispenser:dispenser" \
  test "$(stat -c '%F %a %U:%G' "$home" 2>&1)" = "directory 710 dispenser:dispenser"
check "default config installed, 0640, dispenser:dispenser" \
  test "$(stat -c '%a %U:%G' "$config" 2>&1)" = "640 dispenser:dispenser"
check "default config is the shipped template" cmp "$config" /usr/share/dispenser/dispenser.toml

section ".deb: files"
for f in /usr/bin/dispenser /usr/lib/dispenser/node/bin/node; do
  check "$f is root-owned and 0755" test "$(stat -c '%a %U:%G' "$f" 2>&1)" = "755 root:root"
done
for f in "$unit_path" /usr/share/dispenser/dispenser.toml /usr/lib/dispenser/node_modules/dispenser/package.json \
    /usr/lib/dispenser/node_modules/dispenser/bin/run.js /usr/lib/dispenser/node/LICENSE; do
  check "$f is installed" test -f "$f"
done
check "bundled node is a current LTS (v24)" grep -q '^v24\.' <<<"$(/usr/lib/dispenser/node/bin/node --version 2>&1)"
check "the proxy's native addons load in the bundled node" /usr/lib/dispenser/node/bin/node --input-type=module -e '
  const dir = "/usr/lib/dispenser/node_modules/@dispenser/proxy/dist/src";
  const { quickAckUnavailable } = await import(`${dir}/tuning/quick-ack.js`);
  const { mallocTrimUnavailable } = await import(`${dir}/tuning/malloc-trimmer.js`);
  const { ambientCapsUnavailable } = await import(`${dir}/privileges.js`);
  for (const why of [quickAckUnavailable, mallocTrimUnavailable, ambientCapsUnavailable]) if (why) { console.error(why); process.exit(1); }'
for ws in $(node -p 'require(process.argv[1]).workspaces.join(" ")' "$repo/package.json"); do
  name=$(node -p 'require(process.argv[1]).name' "$repo/$ws/package.json")
  d=/usr/lib/dispenser/node_modules/$name
  check "workspace $name is a real directory with its built JS" \
    sh -c "test -d '$d' && ! test -L '$d' && test -f '$d/package.json' && find '$d/dist' -name '*.js' | grep -q ."
done
check "no symlinks under /usr/lib/dispenser" test -z "$(find /usr/lib/dispenser -type l)"
check "no dev dependencies (typescript) installed" test ! -e /usr/lib/dispenser/node_modules/typescript
check "nothing under /usr/lib/dispenser is writable by others" \
  test -z "$(find /usr/lib/dispenser /usr/bin/dispenser -perm /022 ! -type l)"
check "dpkg -V: installed files match the package" dpkg -V dispenser

section ".deb: systemd unit"
unit=$(cat "$unit_path" 2>/dev/null)
for line in 'Type=notify' 'NotifyAccess=all' 'User=dispenser' 'WorkingDirectory=/opt/dispenser' \
    'ExecStart=/usr/bin/dispenser -c /opt/dispenser/dispenser.toml -p /opt/dispenser/dispenser.pid' \
    'BindsTo=docker.service' 'Restart=always' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SETGID' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETGID' \
    'NoNewPrivileges=true' 'ProtectSystem=strict' \
    'ReadWritePaths=/opt/dispenser' 'ProtectHome=true' 'PrivateTmp=true' 'SupplementaryGroups=docker' \
    'WantedBy=multi-user.target docker.service'; do
  check "unit: $line" grep -qxF "$line" <<<"$unit"
done
check "unit: After= includes docker.service" grep -qE '^After=.*\bdocker\.service\b' <<<"$unit"
check "unit: Sockets= names both proxy socket units" grep -qxF 'Sockets=dispenser-http.socket dispenser-https.socket' <<<"$unit"
check "unit: Wants= the proxy socket units" grep -qxF 'Wants=dispenser-http.socket dispenser-https.socket' <<<"$unit"
for pair in http:80 https:443; do
  name=${pair%%:*}; port=${pair#*:}
  sock=$(cat "/usr/lib/systemd/system/dispenser-$name.socket" 2>/dev/null)
  check "socket unit dispenser-$name.socket: ListenStream=$port" grep -qxF "ListenStream=$port" <<<"$sock"
  check "socket unit dispenser-$name.socket: FileDescriptorName=$name" grep -qxF "FileDescriptorName=$name" <<<"$sock"
  check "socket unit dispenser-$name.socket: Service=dispenser.service" grep -qxF 'Service=dispenser.service' <<<"$sock"
  check "socket unit dispenser-$name.socket is enabled (sockets.target.wants link)" test -L "/etc/systemd/system/sockets.target.wants/dispenser-$name.socket"
done
if command -v systemd-analyze >/dev/null; then
  # verify also loads the units it references; only complaints about ours count.
  out=$(systemd-analyze verify "$unit_path" /usr/lib/systemd/system/dispenser-http.socket /usr/lib/systemd/system/dispenser-https.socket 2>&1); rc=$?
  if [ $rc -eq 0 ] && ! grep -q 'dispenser' <<<"$out"; then pass "systemd-analyze verify"; else fail "systemd-analyze verify (rc $rc)" "$out"; fi
else
  skip "systemd-analyze verify (not installed)"
fi
check "unit is enabled (multi-user.target.wants link)" test -L "$wants"
check "unit is wanted by docker.service (starts again with Docker)" test -L "$docker_wants"

section ".deb: the CLI as the dispenser user"
out=$(as_dispenser dispenser --version 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "dispenser/$npm_version .*node-v24\." <<<"$out"; then
  pass "dispenser --version runs on the bundled node: $out"
else
  fail "dispenser --version (rc $rc)" "$out"
fi
out=$(as_dispenser dispenser --help 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'COMMANDS\|USAGE' <<<"$out"; then pass "dispenser --help lists commands"; else fail "dispenser --help (rc $rc)" "$out"; fi
out=$(as_dispenser dispenser --test -c "$config" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'Dispenser config is ok\.' <<<"$out"; then
  pass "dispenser --test accepts the default config"
else
  fail "dispenser --test -c $config (rc $rc, want 0 and \"Dispenser config is ok.\")" "$out"
fi
if [ -S /var/run/docker.sock ]; then
  out=$(as_dispenser /usr/lib/dispenser/node/bin/node -e '
    require("http").get({ socketPath: "/var/run/docker.sock", path: "/_ping" }, (r) => {
      let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => { console.log(r.statusCode, b); process.exit(r.statusCode === 200 ? 0 : 1); });
    }).on("error", (e) => { console.error(e.message); process.exit(1); });' 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass "dispenser user reaches the Docker socket (/_ping: $out)"; else fail "Docker socket as dispenser" "$out"; fi
else
  skip "Docker socket access (no /var/run/docker.sock)"
fi

section ".deb: the daemon as the dispenser user"
# The supervisor forks the orchestrator and proxy workers from files it resolves at run time:
# only running it proves the installed tree is complete. http-only proxy on a loopback port, no
# services, its own DISPENSER_INSTANCE (so its Docker network is its own and removed afterwards).
smoke_port=$(/usr/lib/dispenser/node/bin/node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
smoke_instance=test-pkg-$$-$RANDOM
smoke_config=$home/smoke.toml smoke_pid=$home/smoke.pid smoke_log=$(mktemp)
printf '[proxy]\nstrategy = "http-only"\nhttp_port = %s\nbind = "127.0.0.1"\nworkers = 1\n' "$smoke_port" >"$smoke_config"
chown dispenser:dispenser "$smoke_config"
(cd "$home" && DISPENSER_INSTANCE=$smoke_instance exec timeout 120 runuser -u dispenser -- \
  dispenser -c "$smoke_config" -p "$smoke_pid") >"$smoke_log" 2>&1 &
smoke_job=$!
answered=
for _ in $(seq 1 60); do
  if answered=$(/usr/lib/dispenser/node/bin/node -e '
      require("http").get("http://127.0.0.1:'"$smoke_port"'/", (r) => { console.log(r.statusCode); process.exit(0); })
        .on("error", () => process.exit(1));' 2>/dev/null); then break; fi
  kill -0 "$smoke_job" 2>/dev/null || break
  sleep 1
done
if [ -n "$answered" ]; then
  pass "daemon starts and its proxy answers on 127.0.0.1:$smoke_port (HTTP $answered)"
else
  fail "daemon did not answer on 127.0.0.1:$smoke_port" "$(tail -c 2000 "$smoke_log")"
fi
if kill -0 "$smoke_job" 2>/dev/null; then
  check "dispenser -s stop stops it" as_dispenser dispenser -s stop -p "$smoke_pid"
  for _ in $(seq 1 30); do kill -0 "$smoke_job" 2>/dev/null || break; sleep 1; done
  if kill -0 "$smoke_job" 2>/dev/null; then fail "daemon still running 30 s after stop"; kill -TERM "$smoke_job" 2>/dev/null; fi
fi
wait "$smoke_job" 2>/dev/null
if command -v docker >/dev/null; then
  for n in $(docker network ls -q --filter "label=dispenser.instance=$smoke_instance" 2>/dev/null); do
    docker network rm "$n" >/dev/null 2>&1
  done
fi
rm -f "$smoke_config" "$smoke_pid" "$smoke_log"

section ".deb: reinstall keeps the config"
echo '# edited by test.sh' >>"$config"
check "dpkg -i again (upgrade path) succeeds" dpkg -i "$deb"
check "the edited config is kept" grep -q 'edited by test.sh' "$config"
check "still enabled" test -L "$wants"

section ".deb: remove"
check "dpkg -r succeeds" dpkg -r dispenser
check "program files are gone" sh -c "! test -e /usr/bin/dispenser && ! test -e /usr/lib/dispenser && ! test -e $unit_path"
check "unit is disabled (no wants links)" sh -c "! test -L $wants && ! test -L $docker_wants"
check "config is kept after remove" grep -q 'edited by test.sh' "$config"

section ".deb: install after remove, then purge"
check "dpkg -i after remove succeeds" dpkg -i "$deb"
check "enabled again" test -L "$wants"
check "config still the edited one" grep -q 'edited by test.sh' "$config"
check "dpkg --purge succeeds" dpkg --purge dispenser
check "package is gone" sh -c "! dpkg-query -W -f='\${Status}' dispenser 2>/dev/null | grep -q installed"
check "$home (config and state) is gone after purge" test ! -e "$home"
check "program files and unit are gone" sh -c "! test -e /usr/bin/dispenser && ! test -e /usr/lib/dispenser && ! test -e $unit_path"
check "no enablement left (wants link, deb-systemd-helper state)" \
  sh -c "! test -L $wants && ! test -L $docker_wants && ! ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q '^dispenser'"
check "system user kept (Debian practice)" getent passwd dispenser
# So that the rpm's %pre below creates the user again rather than finding it.
drop_created_user

section ".rpm"
check "rpm -K: digests are intact" rpm -K --nosignature "$rpm_file"
nvra=$(rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH}' "$rpm_file" 2>/dev/null)
check "name, version, release, arch: $nvra" test "$nvra" = "dispenser $version 1 x86_64"
rpm_files=$(rpm -qpl "$rpm_file" 2>/dev/null)
for f in /usr/bin/dispenser /usr/lib/dispenser/node/bin/node /usr/lib/dispenser/node_modules/dispenser/bin/run.js \
    "$unit_path" /usr/share/dispenser/dispenser.toml /usr/share/doc/dispenser/README.md \
    /usr/share/doc/dispenser/docs/README.md; do
  check "rpm carries $f" grep -qxF "$f" <<<"$rpm_files"
done
# The deb also lists the shared parent directories (/usr, /usr/lib...), which rpm leaves to the
# filesystem package.
deb_files=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's#^\./#/#; s#/$##' \
  | grep -vxE '|/usr|/usr/bin|/usr/lib|/usr/lib/systemd|/usr/lib/systemd/system|/usr/share|/usr/share/doc' | sort)
check "rpm and deb carry the same files" diff <(sort <<<"$rpm_files") <(printf '%s\n' "$deb_files")
# Tests, benchmarks and test helpers of the workspace packages (dist/test, dist/bench, dist/testing).
test_code='^/usr/lib/dispenser/node_modules/(dispenser|@dispenser/[^/]+)/(.*/)?((test|tests|bench|testing|fixtures)(/|$)|[^/]*(\.test\.js|\.bench\.js|fake[^/]*)$)'
no_test_code() { ! grep -E "$test_code" <<<"$1"; }
check "the deb carries no tests, benchmarks or test helpers" no_test_code "$deb_files"
check "the rpm carries no tests, benchmarks or test helpers" no_test_code "$rpm_files"
check "rpm: /usr/bin/dispenser is root-owned 0755" \
  grep -q '^-rwxr-xr-x .* root *root .* /usr/bin/dispenser$' <<<"$(rpm -qplv "$rpm_file" 2>/dev/null)"
reqs=$(rpm -qp --requires "$rpm_file" 2>/dev/null)
check "rpm does not require a host node: $(tr '\n' ' ' <<<"$reqs")" sh -c '! grep -q node' <<<"$reqs"
scripts=$(rpm -qp --scripts "$rpm_file" 2>/dev/null)
for pattern in 'preinstall scriptlet' 'groupadd --system docker' 'useradd --system' 'usermod -a -G docker' \
    'postinstall scriptlet' 'install -d -m 0710 -o "$DISPENSER_USER"' 'DISPENSER_DEFAULT_CONFIG' \
    'systemctl enable' 'systemctl start' 'preuninstall scriptlet' 'systemctl stop' 'systemctl disable' \
    'postuninstall scriptlet' 'systemctl restart' '[ -d /run/systemd/system ]'; do
  check "rpm scriptlets contain: $pattern" grep -qF -- "$pattern" <<<"$scripts"
done
for tag in PREIN POSTIN PREUN POSTUN; do
  body=$(rpm -qp --qf "%{$tag}" "$rpm_file" 2>/dev/null)
  check "rpm $tag scriptlet is valid sh" sh -n -c "$body"
done

section ".rpm: scriptlets on this machine (rpm -i --nodeps: Debian's rpm database knows no glibc)"
rpm_quiet() { "$@" 2>&1 | grep -v 'use Alien instead\|assuming you know what you are doing'; return "${PIPESTATUS[0]}"; }
if out=$(rpm_quiet rpm -i --nodeps "$rpm_file"); then pass "rpm -i runs %pre/%post without a running systemd"; else fail "rpm -i" "$out"; fi
check "rpm: user dispenser, home $home" test "$(getent passwd dispenser | cut -d: -f6)" = "$home"
check "rpm: dispenser is in the docker group" grep -qw docker <<<"$(id -nG dispenser 2>&1)"
check "rpm: $home is 0710 dispenser:dispenser" test "$(stat -c '%a %U:%G' "$home" 2>&1)" = "710 dispenser:dispenser"
check "rpm: default config installed" cmp "$config" /usr/share/dispenser/dispenser.toml
check "rpm: unit is enabled (multi-user and docker.service wants links)" sh -c "test -L $wants && test -L $docker_wants"
out=$(as_dispenser dispenser --version 2>&1)
check "rpm: dispenser --version as the dispenser user: $out" grep -q "node-v24\." <<<"$out"
echo '# edited by test.sh' >>"$config"
if out=$(rpm_quiet rpm -U --replacepkgs --nodeps "$rpm_file"); then pass "rpm -U (upgrade path) succeeds"; else fail "rpm -U" "$out"; fi
check "rpm: upgrade keeps the edited config" grep -q 'edited by test.sh' "$config"
check "rpm: still enabled after upgrade" test -L "$wants"
if out=$(rpm_quiet rpm -e dispenser); then pass "rpm -e runs %preun/%postun"; else fail "rpm -e" "$out"; fi
check "rpm: program files and unit are gone" sh -c "! test -e /usr/bin/dispenser && ! test -e /usr/lib/dispenser && ! test -e $unit_path"
check "rpm: unit is disabled" sh -c "! test -L $wants && ! test -L $docker_wants"
check "rpm: config is kept after erase (rpm has no purge)" grep -q 'edited by test.sh' "$config"
rm -rf "$home"

# Installing over the original Rust Dispenser's packages (stand-ins built there).
# shellcheck source=dist-packaging/test-takeover.sh
source "$here/test-takeover.sh"

printf '\n%s\n' "----------------------------------------------------------------"
printf 'packaging tests: %d passed, %d failed, %d skipped (%d s)\n' "$passed" "$failed" "$skipped" "$((SECONDS - started))"
if [ "$failed" -gt 0 ]; then
  printf 'FAIL:\n'; printf '  - %s\n' "${failures[@]}"
  exit 1
fi
printf 'PASS\n'
