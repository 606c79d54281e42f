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

# /opt/dispenser (0700, the user's) and a default dispenser.toml unless one exists.
dispenser_ensure_home() {
  install -d -m 0700 -o "$DISPENSER_USER" -g "$DISPENSER_USER" "$DISPENSER_HOME"
  if [ ! -e "$DISPENSER_CONFIG" ] && [ ! -L "$DISPENSER_CONFIG" ]; then
    install -m 0640 -o "$DISPENSER_USER" -g "$DISPENSER_USER" "$DISPENSER_DEFAULT_CONFIG" "$DISPENSER_CONFIG"
    echo "dispenser: wrote a default $DISPENSER_CONFIG; add services to it, then: systemctl reload dispenser"
  fi
}
