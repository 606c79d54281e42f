# Functions shared by the scripts in scripts/infra (sourced; $INFRA is the infra directory).
BASE_IMAGE=${DISPENSER_TEST_BASE_IMAGE:-dispenser-test/busybox:base}

log() { echo "[infra] $*" >&2; }
wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what did not come up (see its log in $INFRA)"; return 1
}

# The command line of a process, arguments separated by single spaces ("" if it is gone).
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ $//' || true; }

# ours NAME COMMAND: true when $INFRA/NAME.pid names a live process whose command line starts
# with COMMAND. A process started by an earlier start.sh that kept no pid file is adopted when
# COMMAND names a file in $INFRA (its config), since no one else starts a process with that.
ours() {
  local pidfile=$INFRA/$1.pid command=$2 pid line
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile"); line=$(cmdline "$pid")
    [[ -n "$line" && "$line " == "$command "* ]] && return 0
    rm -f "$pidfile"
  fi
  [[ "$command" == *"$INFRA/"* ]] || return 1
  for pid in $(pgrep -f -- "$(printf '%s' "$command" | sed 's/[][\.*^$+?(){}|]/\\&/g')" || true); do
    line=$(cmdline "$pid")
    if [[ "$line " == "$command "* ]]; then echo "$pid" >"$pidfile"; return 0; fi
  done
  return 1
}

# stop_ours NAME COMMAND: stops the process `ours` recognises, if any, and forgets its pid file.
stop_ours() {
  ours "$1" "$2" || { rm -f "$INFRA/$1.pid"; return 0; }
  local pid; pid=$(cat "$INFRA/$1.pid")
  log "stopping $1 (pid $pid)"
  kill "$pid" 2>/dev/null || true
  # dockerd takes seconds to let go of its socket and pid file; a new one started before fails
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$INFRA/$1.pid"
}

# pick_port DEFAULT WHAT: DEFAULT when nothing listens on it, else a port the kernel has free
# (never one already picked by this run).
picked_ports=" "
pick_port() {
  local port=$1
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [[ "$picked_ports" == *" $port "* ]]; then
    while :; do
      port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
      [[ "$picked_ports" == *" $port "* ]] || break
    done
    log "127.0.0.1:$1 is taken by something this infra directory did not start: $2 uses port $port"
  fi
  picked_ports+="$port "
  echo "$port"
}
