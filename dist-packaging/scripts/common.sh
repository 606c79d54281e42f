# Shared by the .deb maintainer scripts and the .rpm scriptlets (build.sh pastes it in front of
# each). POSIX sh. Every step is idempotent: scripts run again on upgrade and reinstall.

DISPENSER_USER=dispenser
DISPENSER_HOME=/opt/dispenser
DISPENSER_CONFIG=/opt/dispenser/dispenser.toml
DISPENSER_DEFAULT_CONFIG=/usr/share/dispenser/dispenser.toml
DISPENSER_UNIT=dispenser.service
# The proxy's listening sockets (socket activation): enabled and disabled with the service. Upgrades
# restart only the service; the sockets stay open, so no connection is refused meanwhile.
DISPENSER_SOCKETS="dispenser-http.socket dispenser-https.socket"

# True when systemd is the running init; false in containers and chroots.
dispenser_systemd_running() {
  [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

dispenser_nologin_shell() {
  for s in /usr/sbin/nologin /sbin/nologin /bin/false; do
    if [ -x "$s" ]; then echo "$s"; return; fi
  done
  echo /bin/false
}

# System user `dispenser` (home /opt/dispenser, own group) in the `docker` group, which is created
# when Docker is not installed yet so the Docker package later adopts it.
dispenser_ensure_user() {
  if ! getent group docker >/dev/null; then
    groupadd --system docker
  fi
  if ! getent passwd "$DISPENSER_USER" >/dev/null; then
    if getent group "$DISPENSER_USER" >/dev/null; then
      group_opt="-g $DISPENSER_USER"
    else
      group_opt="--user-group"
    fi
    # shellcheck disable=SC2086
    useradd --system $group_opt --home-dir "$DISPENSER_HOME" --no-create-home \
      --shell "$(dispenser_nologin_shell)" --comment "Dispenser daemon" "$DISPENSER_USER"
  fi
  # -a: keep the user's other groups (an admin may have added some).
  usermod -a -G docker "$DISPENSER_USER"
}

# /opt/dispenser (0710, the user's; the group may only pass through, to reach the control socket
# .dispenser/control.sock) and a default dispenser.toml unless one exists.
dispenser_ensure_home() {
  install -d -m 0710 -o "$DISPENSER_USER" -g "$DISPENSER_USER" "$DISPENSER_HOME"
  if [ ! -e "$DISPENSER_CONFIG" ] && [ ! -L "$DISPENSER_CONFIG" ]; then
    install -m 0640 -o "$DISPENSER_USER" -g "$DISPENSER_USER" "$DISPENSER_DEFAULT_CONFIG" "$DISPENSER_CONFIG"
    echo "dispenser: wrote a default $DISPENSER_CONFIG; add services to it, then: systemctl reload dispenser"
  fi
}

# --- Taking over from the original (Rust) Dispenser's package ---------------------------------------
# Its packages are also named `dispenser` (versions up to 0.26, no epoch); ours carry epoch 1 so
# that installing one over it is an upgrade (see build.sh). It installed /usr/local/bin/dispenser,
# its unit as /etc/systemd/system/dispenser.service (.deb) or /usr/lib/systemd/system/ (.rpm),
# enabled with `systemctl enable` (a multi-user.target.wants link only), and the same user and
# /opt/dispenser as ours, which are kept as they are (only what is missing gets created).
DISPENSER_ORIGINAL_BIN=/usr/local/bin/dispenser
DISPENSER_ORIGINAL_UNIT=/etc/systemd/system/dispenser.service
DISPENSER_ORIGINAL_WANTS=/etc/systemd/system/multi-user.target.wants/dispenser.service
# .deb only: an administrator's /etc unit kept across the upgrade (preinst, postinst). Not a valid
# unit name, so systemd ignores it meanwhile.
DISPENSER_KEPT_UNIT=/etc/systemd/system/dispenser.service.dpkg-keep
# .rpm only: the original's enablement, from pre to posttrans (where Fedora keeps such state).
DISPENSER_TAKEOVER_STATE=/var/lib/rpm-state/dispenser-takeover

# True when the unit file $1 runs the original's binary: the package's own unit, or one edited
# around it; the upgrade removes that binary, so such a unit cannot work any more either way.
dispenser_is_original_unit() {
  grep -qE '^[[:space:]]*ExecStart=[-@:+!]*/usr/local/bin/dispenser([[:space:]]|$)' "$1" 2>/dev/null
}

# After the original's files are gone: its /etc unit would override ours, and its enablement links
# point at that removed unit. Enabling ours is the caller's job.
dispenser_takeover_cleanup() {
  if [ -f "$DISPENSER_ORIGINAL_UNIT" ]; then
    if dispenser_is_original_unit "$DISPENSER_ORIGINAL_UNIT"; then
      rm -f "$DISPENSER_ORIGINAL_UNIT"
    else
      echo "dispenser: warning: kept $DISPENSER_ORIGINAL_UNIT (it does not run the original's $DISPENSER_ORIGINAL_BIN, so it was written or changed here); it overrides the packaged /usr/lib/systemd/system/$DISPENSER_UNIT. Move what you need into a drop-in (systemctl edit dispenser), delete the file, then: systemctl daemon-reload; systemctl restart dispenser" >&2
    fi
  fi
  for link in /etc/systemd/system/*.wants/"$DISPENSER_UNIT"; do
    if [ -L "$link" ] && [ ! -e "$link" ]; then rm -f "$link"; fi
  done
}

# A dispenser in /usr/local/bin that no package owns (any more) comes first in PATH.
dispenser_warn_local_bin() {
  if [ -e "$DISPENSER_ORIGINAL_BIN" ]; then
    echo "dispenser: warning: $DISPENSER_ORIGINAL_BIN is still there and comes before /usr/bin in PATH: \`dispenser\` in a shell runs it, not this package's /usr/bin/dispenser. Delete it unless you need it." >&2
  fi
}
