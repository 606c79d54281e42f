# Sourced by test.sh (uses its check/pass/fail/skip, $deb, $rpm_file, cleanup...): installing our
# packages over the original Rust Dispenser's, as its users do. Stand-ins for the original's
# packages are built here with its layout (name `dispenser`, version 0.26.0, no epoch; the binary
# in /usr/local/bin, the unit in /etc/systemd/system for the .deb and /usr/lib/systemd/system for
# the .rpm, the user with a login shell, enabled with a multi-user.target.wants link), and with
# maintainer scripts that act as the original's do: the .deb's only on remove and purge, the
# .rpm's preun stops and disables the unit on upgrades too.

# The stand-ins install these two and their removal deletes them: never over files of this machine.
for f in /usr/local/bin/dispenser /etc/systemd/system/dispenser.service; do
  if [ -e "$f" ]; then section "takeover"; skip "installing over the original's packages ($f exists here)"; return; fi
done

takeover_work=$(mktemp -d "${TMPDIR:-/tmp}/dispenser-takeover.XXXXXX")
local_bin_existed=0; [ -d /usr/local/bin ] && local_bin_existed=1
rpm_state_existed=0; [ -d /var/lib/rpm-state ] && rpm_state_existed=1
takeover_cleanup() {
  rm -rf "$takeover_work"
  # dpkg removes the directories a removed package listed once they are empty.
  if [ $local_bin_existed = 1 ] && [ ! -d /usr/local/bin ]; then mkdir -p -m 0755 /usr/local/bin; fi
  if [ $rpm_state_existed = 0 ]; then rmdir /var/lib/rpm-state 2>/dev/null; fi
  rm -f /etc/systemd/system/dispenser.service /etc/systemd/system/dispenser.service.dpkg-keep
}
trap 'cleanup; takeover_cleanup' EXIT

original_unit_text() { # $1: unit directory
  cat <<EOF
[Unit]
Description=stand-in for the original Dispenser
After=docker.service
BindsTo=docker.service
[Service]
User=dispenser
WorkingDirectory=/opt/dispenser
ExecStart=/usr/local/bin/dispenser --config /opt/dispenser/dispenser.toml
Restart=always
[Install]
WantedBy=multi-user.target
EOF
}
# The original's first-install steps: its user (login shell, own group, docker group), its
# directory, a one-line config, and `systemctl enable` (here the link it makes: no running systemd).
original_postinst_body() { # $1: where its unit is
  cat <<EOF
getent group docker >/dev/null || groupadd --system docker
if ! id -u dispenser >/dev/null 2>&1; then
  useradd -r -d /opt/dispenser -s /bin/bash dispenser
  usermod -aG docker dispenser
  mkdir -p /opt/dispenser
  chown dispenser:dispenser /opt/dispenser
  chmod 700 /opt/dispenser
fi
if [ ! -f /opt/dispenser/dispenser.toml ]; then
  echo 'delay = 60' >/opt/dispenser/dispenser.toml
  chown dispenser:dispenser /opt/dispenser/dispenser.toml
fi
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf $1/dispenser.service /etc/systemd/system/multi-user.target.wants/dispenser.service
EOF
}

build_original_deb() {
  local root=$takeover_work/deb-root
  mkdir -p "$root/DEBIAN" "$root/usr/local/bin" "$root/etc/systemd/system"
  printf '#!/bin/sh\necho "dispenser 0.26.0 (stand-in)"\n' >"$root/usr/local/bin/dispenser"
  chmod 0755 "$root/usr/local/bin/dispenser"
  original_unit_text >"$root/etc/systemd/system/dispenser.service"
  cat >"$root/DEBIAN/control" <<EOF
Package: dispenser
Version: 0.26.0
Architecture: amd64
Maintainer: test fixture <nobody@localhost>
Description: stand-in for the original Dispenser's package
EOF
  { printf '#!/bin/sh\nset -e\n'; original_postinst_body /etc/systemd/system; } >"$root/DEBIAN/postinst"
  printf '#!/bin/sh\nset -e\nif [ "$1" = remove ]; then rm -f %s; fi\n' \
    /etc/systemd/system/multi-user.target.wants/dispenser.service >"$root/DEBIAN/prerm"
  printf '#!/bin/sh\nset -e\nif [ "$1" = purge ]; then rm -rf /opt/dispenser; fi\n' >"$root/DEBIAN/postrm"
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
  dpkg-deb --root-owner-group --build "$root" "$takeover_work/original.deb" >/dev/null
}

build_original_rpm() {
  local top=$takeover_work/rpmbuild stage=$takeover_work/rpm-stage
  mkdir -p "$top/SPECS" "$stage/usr/local/bin" "$stage/usr/lib/systemd/system" "$stage/opt/dispenser"
  printf '#!/bin/sh\necho "dispenser 0.26.0 (stand-in)"\n' >"$stage/usr/local/bin/dispenser"
  chmod 0755 "$stage/usr/local/bin/dispenser"
  original_unit_text >"$stage/usr/lib/systemd/system/dispenser.service"
  cat >"$top/SPECS/original.spec" <<EOF
Name: dispenser
Version: 0.26.0
Release: 0
Summary: stand-in for the original Dispenser's package
License: none
AutoReqProv: no
%global debug_package %{nil}
%global __os_install_post %{nil}
%description
stand-in
%install
cp -a $stage/. %{buildroot}/
%post
$(original_postinst_body /usr/lib/systemd/system)
%preun
systemctl stop dispenser.service || true
systemctl disable dispenser.service || true
%postun
if [ \$1 = 0 ]; then rm -rf /opt/dispenser; fi
%files
%dir /opt/dispenser
/usr/lib/systemd/system/dispenser.service
/usr/local/bin/dispenser
EOF
  rpmbuild --quiet -bb --target x86_64 --define "_topdir $top" "$top/SPECS/original.spec" >/dev/null 2>&1 \
    && mv "$top/RPMS/x86_64/dispenser-0.26.0-0.x86_64.rpm" "$takeover_work/original.rpm"
}

# What the original's users keep in /opt/dispenser: its config, certificates in its state
# directory, and a service directory an administrator created as root.
seed_original_home() {
  printf '# the original user'"'"'s config\ndelay = 60\n' >"$config"
  mkdir -p "$home/.dispenser/certs" "$home/web"
  printf 'stand-in certificate\n' >"$home/.dispenser/certs/example.com.crt"
  printf 'stand-in key\n' >"$home/.dispenser/certs/example.com.key"
  chown -R dispenser:dispenser "$home/.dispenser" "$config"
  chmod 0600 "$home/.dispenser/certs/example.com.key"
  printf '[service]\nimage = "nginx"\n' >"$home/web/service.toml"
}
# Every file under /opt/dispenser with its mode, owner and content hash.
# Everything in the home; the home itself becomes 0710 (the dispenser group reaches the control
# socket in .dispenser/), so its own mode is left out.
home_listing() {
  (cd "$home" && find . -mindepth 1 -printf '%p %m %u:%g\n' | sort && find . -type f -print0 | sort -z | xargs -0 md5sum)
}
no_dangling_links() { ! find /etc/systemd/system -path '*.wants/dispenser.service' -xtype l | grep .; }
links_to_ours() { test "$(readlink -f "$1")" = "$unit_path"; }
# After ours replaced the original: the same user, home and files.
check_kept() { # $1: label, $2: the user's passwd line before, $3: home listing before
  local out
  check "$1: user dispenser kept as it was (uid, home, login shell)" test "$(getent passwd dispenser)" = "$2"
  check "$1: dispenser still in the docker group" grep -qw docker <<<"$(id -nG dispenser 2>&1)"
  check "$1: /opt/dispenser unchanged (files, modes, owners, contents)" diff <(printf '%s\n' "$3") <(home_listing)
  check "$1: /opt/dispenser itself is 0710 dispenser:dispenser" test "$(stat -c '%a %U:%G' "$home" 2>&1)" = "710 dispenser:dispenser"
  check "$1: /usr/local/bin/dispenser is gone" test ! -e /usr/local/bin/dispenser
  out=$(as_dispenser dispenser --version 2>&1)
  check "$1: dispenser runs ours: $out" grep -q "dispenser/$npm_version " <<<"$out"
}

# The .rpm sections above keep the user they created; the stand-ins create their own, as the original.
drop_created_user

section "takeover: the packages' versions sort above the original's"
check ".deb version is 1:$version" test "$(dpkg-deb -f "$deb" Version)" = "1:$version"
check "1:$version > 0.26.0 (and > any version without epoch)" dpkg --compare-versions "1:$version" gt 99999.0
check ".rpm epoch is 1" test "$(rpm -qp --qf '%{EPOCH}' "$rpm_file" 2>/dev/null)" = 1
scripts=$(rpm -qp --scripts "$rpm_file" 2>/dev/null)
for pattern in 'posttrans scriptlet' 'DISPENSER_TAKEOVER_STATE' 'dispenser_takeover_cleanup'; do
  check "rpm scriptlets contain: $pattern" grep -qF -- "$pattern" <<<"$scripts"
done
check "rpm POSTTRANS scriptlet is valid sh" sh -n -c "$(rpm -qp --qf '%{POSTTRANS}' "$rpm_file" 2>/dev/null)"

section "takeover: .deb over the original's (dpkg -i; it was enabled, its unit untouched)"
if build_original_deb; then pass "stand-in original .deb built"; else fail "building the stand-in original .deb"; fi
if out=$(dpkg -i "$takeover_work/original.deb" 2>&1); then pass "stand-in original installed"; else fail "dpkg -i original" "$out"; fi
seed_original_home
passwd_before=$(getent passwd dispenser) listing_before=$(home_listing)
out=$(dpkg -i "$deb" 2>&1); rc=$?
if [ $rc -eq 0 ]; then pass "dpkg -i ours over it succeeds"; else fail "dpkg -i ours over the original (rc $rc)" "$out"; fi
check "no downgrade warning" sh -c '! grep -i downgrad' <<<"$out"
check "no warning about a kept unit" sh -c '! grep -q "overrides the packaged"' <<<"$out"
check "installed version is 1:$version" test "$(dpkg-query -W -f='${Version}' dispenser 2>&1)" = "1:$version"
check_kept ".deb" "$passwd_before" "$listing_before"
check "the original's /etc unit is gone" test ! -e /etc/systemd/system/dispenser.service
check "no dangling dispenser.service links left" no_dangling_links
check "enabled: multi-user.target.wants link to our unit" links_to_ours "$wants"
check "enabled: docker.service.wants link to our unit" links_to_ours "$docker_wants"
check "enabled: both socket units" sh -c 'test -L /etc/systemd/system/sockets.target.wants/dispenser-http.socket && test -L /etc/systemd/system/sockets.target.wants/dispenser-https.socket'
check "dpkg --purge ours" dpkg --purge dispenser
drop_created_user

section "takeover: .deb over the original's (apt-get; an administrator disabled it and wrote its unit)"
dpkg -i "$takeover_work/original.deb" >/dev/null 2>&1 || fail "dpkg -i original (second time)"
seed_original_home
rm -f /etc/systemd/system/multi-user.target.wants/dispenser.service
# An administrator's own unit: it no longer runs the original's binary.
sed -i 's#^ExecStart=.*#ExecStart=/usr/bin/dispenser -c /opt/dispenser/dispenser.toml#' /etc/systemd/system/dispenser.service
admin_unit=$(cat /etc/systemd/system/dispenser.service)
passwd_before=$(getent passwd dispenser) listing_before=$(home_listing)
if ! apt-get --version >/dev/null 2>&1; then
  skip "apt-get install ./ (no apt-get)"
else
  out=$(apt-get install -y --no-install-recommends "$deb" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass "apt-get install ./$(basename "$deb") over it succeeds"; else fail "apt-get install over the original (rc $rc)" "$out"; fi
  check "apt: no downgrade" sh -c '! grep -i downgrad' <<<"$out"
  check "installed version is 1:$version" test "$(dpkg-query -W -f='${Version}' dispenser 2>&1)" = "1:$version"
  check_kept "apt" "$passwd_before" "$listing_before"
  check "the administrator's /etc unit is kept" test "$(cat /etc/systemd/system/dispenser.service 2>&1)" = "$admin_unit"
  check "and a warning says it overrides ours" grep -q "overrides the packaged" <<<"$out"
  disabled() { ! test -L "$wants" && ! test -L "$docker_wants" && ! ls /etc/systemd/system/sockets.target.wants/dispenser-* 2>/dev/null; }
  check "still disabled: no wants links for the service or its sockets" disabled
  check "dpkg -i ours again (a later upgrade)" dpkg -i "$deb"
  check "still disabled after a later upgrade" disabled
  check "dpkg --purge ours" dpkg --purge dispenser
fi
rm -f /etc/systemd/system/dispenser.service
drop_created_user

section "takeover: .rpm over the original's (rpm -U --nodeps; its preun disables the unit on upgrade)"
if build_original_rpm; then pass "stand-in original .rpm built"; else fail "building the stand-in original .rpm"; fi
if out=$(rpm_quiet rpm -i --nodeps "$takeover_work/original.rpm"); then pass "stand-in original installed"; else fail "rpm -i original" "$out"; fi
seed_original_home
passwd_before=$(getent passwd dispenser) listing_before=$(home_listing)
out=$(rpm_quiet rpm -U --nodeps "$rpm_file"); rc=$?
if [ $rc -eq 0 ]; then pass "rpm -U ours over it succeeds"; else fail "rpm -U ours over the original (rc $rc)" "$out"; fi
check "installed: epoch 1, version $version" test "$(rpm -q --qf '%{EPOCH}:%{VERSION}' dispenser 2>&1)" = "1:$version"
check_kept ".rpm" "$passwd_before" "$listing_before"
check "no dangling dispenser.service links left" no_dangling_links
check "enabled again after the original's preun: multi-user.target.wants link" links_to_ours "$wants"
check "enabled: docker.service.wants link" links_to_ours "$docker_wants"
check "enabled: both socket units" sh -c 'test -L /etc/systemd/system/sockets.target.wants/dispenser-http.socket && test -L /etc/systemd/system/sockets.target.wants/dispenser-https.socket'
check "the state handed from pre to posttrans is gone" test ! -e /var/lib/rpm-state/dispenser-takeover
if out=$(rpm_quiet rpm -e dispenser); then pass "rpm -e ours"; else fail "rpm -e" "$out"; fi
rm -rf "$home"
drop_created_user
