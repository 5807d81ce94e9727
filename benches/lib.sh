# Shell functions the benchmark scripts share (sourced, not run): free ports, waiting for a
# listener, a process's CPU time from /proc, numbers from `ntjp load --json`. The caller
# defines log().

# A free TCP port below the ephemeral range (and outside the testbed's default 20000-25000).
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 9000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

wait_for_port() { # PORT WHAT
  local i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  log "$2 did not listen on port $1"; return 1
}

# A process and its children (nginx: master and worker), found once.
family() {
  local root=$1 f rest fields list=$1
  for f in /proc/[0-9]*/stat; do
    rest=$(cat "$f" 2>/dev/null) || continue
    rest=${rest##*) }
    read -r -a fields <<<"$rest"
    [ "${fields[1]}" = "$root" ] && list="$list ${f//[!0-9]/}"
  done
  echo "$list"
}
# utime+stime in clock ticks of these processes (/proc/<pid>/stat fields 14 and 15).
cpu_ticks() {
  local pid rest fields total=0
  for pid in $1; do
    rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${rest##*) }
    read -r -a fields <<<"$rest"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# A value from an endpoints.json: KEY of environment sit, or a top-level/pki KEY.
ep() { # FILE KEY [sit]
  awk -v key="\"$2\"" -v env="${3:-}" '
    env != "" && $1 == "\"" env "\":" { inside = 1 }
    (env == "" || inside) && $1 == key ":" { v = $2; gsub(/[",]/, "", v); print v; exit }' "$1"
}

# A scratch directory in $WORK and the processes in $PIDS (append to it), both cleaned up
# when the script exits however it exits.
start_work() { # NAME
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap cleanup_work EXIT
  trap 'exit 130' INT TERM
}
cleanup_work() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# A number from ntjp load's --json output (keys are unique).
jget() { grep -o "\"$2\": [0-9.]*" "$1" | head -1 | sed 's/.*: //'; }

# Installs Debian's PACKAGE (for BINARY) when BINARY is missing, without letting the package
# start its own service.
ensure_package() { # BINARY PACKAGE...
  local binary=$1; shift
  command -v "$binary" >/dev/null 2>&1 && return 0
  [ -x "/usr/sbin/$binary" ] && return 0
  log "installing $*"
  local policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# A route for ADDRESS to the fixed-answer producer (benches/nginx/producer.conf.in) at URL, in
# Beställningsstödet's order format, for SIT.
route_order() { # URL ADDRESS SCRIPT
  cat <<EOF
{
  "plattform": "NTJP-TEST",
  "formatVersion": "1.0",
  "version": "1",
  "bestallningsTidpunkt": "$(date +%Y-%m-%dT%H:%M:%S+0000)",
  "genomforandeTidpunkt": "$(date +%Y-%m-%d)T00:00:00+0000",
  "utforare": "$3",
  "kommentar": "Benchmark: the fixed-answer nginx producer of the benchmarks.",
  "inkludera": {
    "tjanstekomponenter": [{"hsaId": "TSTNMT2321000156-BENCHPROD", "beskrivning": "nginx, fixed answer"}],
    "logiskadresser": [{"hsaId": "$2", "beskrivning": "The benchmark's producer"}],
    "vagval": [{
      "adress": "$1",
      "logiskAdress": "$2",
      "tjanstekontrakt": "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1",
      "rivtaprofil": "RIVTABP21",
      "tjanstekomponent": "TSTNMT2321000156-BENCHPROD"
    }]
  },
  "exkludera": {}
}
EOF
}
