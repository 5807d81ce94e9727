#!/usr/bin/env bash
# A soak of the whole testbed under mixed traffic:
#
#   bash scripts/soak.sh [--minutes N] [--recording-bytes B] [--out FILE]   # default 10 minutes
#
# Starts `ntjp serve` (release build, fresh state directory, ephemeral ports) and, for the
# whole run, at once:
# - valid calls to every environment's router over mutual TLS (`ntjp load`, open model, 100
#   req/s each, the 21 county codes);
# - calls that fail: unknown logical addresses (VP004), the unauthorised consumer (VP007),
#   malformed XML (VP015) and contract errors answered by the mocks, 20 req/s each;
# - county 14's mock misbehaving in turn (a SOAP fault, HTTP 500, a reset connection, then
#   normal again), changed every 30 s;
# - slow clients: 20 connections at a time to the plain-HTTP listener that send half a request
#   and stop, each held until the router gives up on it;
# - an order every 5 s (a route for SOAK-A included, then excluded again, alternately in SIT,
#   QA and PROD), each published.
# Every 10 s it samples the process's resident memory (VmRSS) and open file descriptors. After a
# warm-up of 2 minutes (1 on runs of 5 minutes or less) it fails when the lowest of the last
# three samples of either exceeds the highest sample of the minute after the warm-up by more
# than 10 %. Then it stops the testbed (SIGTERM), starts it again on the same state directory
# and fails unless every environment's TAK export is the same as before the stop.
# The mocks' recorder is bounded at 32 MiB for the run (--recording-bytes; it keeps every
# message for assertions, and its default bound, 256 MiB, would fill during the run and read as
# growth).
# Writes a markdown report to --out (default target/soak/results.md) and prints it.
# Needs only the Rust toolchain and curl (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
MINUTES=10
RECORDING_BYTES=33554432
OUT=$REPO/target/soak/results.md
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --recording-bytes) RECORDING_BYTES=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$MINUTES" in ''|*[!0-9]*|0) echo "--minutes takes a whole number above 0" >&2; exit 2 ;; esac
case "$RECORDING_BYTES" in ''|*[!0-9]*) echo "--recording-bytes takes a whole number" >&2; exit 2 ;; esac
log() { printf '[soak] %s\n' "$*" >&2; }

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
log "building the release binary"
cargo build --release --quiet
NTJP=$REPO/target/release/ntjp

WORK=$(mktemp -d /tmp/soak.XXXXXX)
STATE=$WORK/state
PIDS=()
SERVE=
cleanup() {
  local pid
  for pid in "${PIDS[@]}" $SERVE; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}" $SERVE; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {
  rm -f "$STATE/endpoints.json"
  "$NTJP" serve --config "$WORK/ntjp.toml" --ephemeral-ports --state-dir "$STATE" >>"$WORK/serve.out" 2>>"$WORK/serve.log" &
  SERVE=$!
  local i
  for i in $(seq 1 300); do [ -s "$STATE/endpoints.json" ] && return 0; sleep 0.1; done
  log "ntjp serve did not start:"; tail -20 "$WORK/serve.log" >&2; exit 1
}
ep() { # KEY [ENV]: a value from endpoints.json
  awk -v key="\"$1\"" -v env="${2:-}" '
    env != "" && $1 == "\"" env "\":" { inside = 1 }
    (env == "" || inside) && $1 == key ":" { v = $2; gsub(/[",]/, "", v); print v; exit }' "$STATE/endpoints.json"
}
exports() { # DIR: every environment's TAK export, the mocks' address (new at each start) as {{mocks}}
  mkdir -p "$1"
  local env mocks
  mocks=$(ep mocks)
  for env in sit qa prod; do
    curl -sf "$(ep admin)/api/$env/tak/export" -o "$1/$env.raw.json" || { log "no TAK export for $env"; exit 1; }
    sed "s|$mocks|{{mocks}}|g" "$1/$env.raw.json" >"$1/$env.json"
  done
}

# The mocks record every message they receive (for assertions), up to 256 MiB by default; at
# this traffic that fills in a few minutes, and would read as growth. A smaller bound fills
# during the warm-up, so what grows after it is not the recorder.
printf '[mock_producers]\nmax_recording_bytes = %s\n' "$RECORDING_BYTES" >"$WORK/ntjp.toml"

log "starting the testbed (state in $STATE)"
start
ADMIN=$(ep admin)
PKI=$STATE/pki
CONTRACT_PATH=/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21
TOTAL=$((MINUTES * 60))
END=$(( $(date +%s) + TOTAL ))
running() { [ "$(date +%s)" -lt "$END" ]; }

# --- traffic -------------------------------------------------------------------------------
for env in sit qa prod; do
  url=$(ep router_https "$env")$CONTRACT_PATH
  "$NTJP" load --state-dir "$STATE" --url "$url" --rate 100 -c 16 -d "${TOTAL}s" -q --json >"$WORK/valid-$env.json" 2>>"$WORK/load.log" &
  PIDS+=($!)
done
SIT=$(ep router_https sit)$CONTRACT_PATH
"$NTJP" load --state-dir "$STATE" --url "$SIT" --addresses 99,NOWHERE,01 --rate 20 -c 4 -d "${TOTAL}s" -q --json >"$WORK/vp004.json" 2>>"$WORK/load.log" &
PIDS+=($!)
"$NTJP" load --state-dir "$STATE" --url "$SIT" --cert "$PKI/unauthorised.pem" --key "$PKI/unauthorised-key.pem" --cacert "$PKI/ca.pem" \
  --rate 20 -c 4 -d "${TOTAL}s" -q --json >"$WORK/vp007.json" 2>>"$WORK/load.log" &
PIDS+=($!)
"$NTJP" load --state-dir "$STATE" --url "$SIT" --body fixtures/messages/technical/not-well-formed.xml --rate 20 -c 4 -d "${TOTAL}s" -q --json >"$WORK/vp015.json" 2>>"$WORK/load.log" &
PIDS+=($!)
"$NTJP" load --state-dir "$STATE" --url "$SIT" --body fixtures/messages/invalid/date-month-13.xml --body fixtures/messages/invalid/extension-in-middle.xml \
  --rate 20 -c 4 -d "${TOTAL}s" -q --json >"$WORK/invalid.json" 2>>"$WORK/load.log" &
PIDS+=($!)

# Mocks that misbehave, in turn.
( n=0; while running; do
    case $((n % 4)) in
      0) "$NTJP" mocks set 14 --answer fault --state-dir "$STATE" >/dev/null 2>&1 || true ;;
      1) "$NTJP" mocks set 14 --answer http500 --state-dir "$STATE" >/dev/null 2>&1 || true ;;
      2) "$NTJP" mocks set 14 --answer reset --state-dir "$STATE" >/dev/null 2>&1 || true ;;
      3) "$NTJP" mocks reset 14 --state-dir "$STATE" >/dev/null 2>&1 || true ;;
    esac
    n=$((n + 1)); sleep 30
  done ) &
PIDS+=($!)

# Slow clients: half a request, then silence, on the plain-HTTP listener.
HTTP_HOSTPORT=$(ep router_http sit | sed 's|http://||; s|/.*||')
HTTP_HOST=${HTTP_HOSTPORT%:*}; HTTP_PORT=${HTTP_HOSTPORT##*:}
slow_client() {
  exec 3<>"/dev/tcp/$HTTP_HOST/$HTTP_PORT" || return 0
  printf 'POST /vp%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: 5000\r\n\r\n<soapenv:Envelope' \
    "$CONTRACT_PATH" "$HTTP_HOSTPORT" >&3 || true
  timeout 120 cat <&3 >/dev/null 2>&1 || true
  exec 3>&-
}
for i in $(seq 1 20); do
  ( while running; do slow_client; sleep 1; done ) &
  PIDS+=($!)
done

# Orders and publishes.
order() { # ENV PLATFORM SECTION
  cat <<EOF
{"plattform": "$2", "formatVersion": "1.0", "version": "1",
 "bestallningsTidpunkt": "$(date -u +%Y-%m-%dT%H:%M:%S+0000)", "genomforandeTidpunkt": "$(date -u +%Y-%m-%dT%H:%M:%S+0000)",
 "utforare": "scripts/soak.sh", "kommentar": "soak",
 "inkludera": {"logiskadresser": [{"hsaId": "SOAK-A", "beskrivning": "soak"}]$( [ "$3" = inkludera ] && echo ', "vagval": [VAGVAL]')},
 "exkludera": {$( [ "$3" = exkludera ] && echo '"vagval": [VAGVAL]')}}
EOF
}
vagval() { # PRODUCER: a route for SOAK-A to the mocks ({{mocks}}: their address at each start)
  printf '{"adress": "{{mocks}}/SOAK-A/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "SOAK-A", "tjanstekontrakt": "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "%s"}' "$1"
}
PRODUCER=$(grep -o '"tjanstekomponent": *"[^"]*"' fixtures/orders/sit/01-producer-cervix-mocks.json | head -1 | sed 's/.*: *"//; s/"//')
( n=0; ok=0; refused=0; while running; do
    env=$(echo sit qa prod | cut -d' ' -f$((n % 3 + 1)))
    platform=$(ep platform "$env")
    section=inkludera; [ $(((n / 3) % 2)) = 1 ] && section=exkludera
    order "$env" "$platform" "$section" | sed "s|VAGVAL|$(vagval "$PRODUCER" | sed 's/[&|]/\\&/g')|" >"$WORK/order.json"
    if "$NTJP" order apply "$WORK/order.json" --env "$env" --state-dir "$STATE" >>"$WORK/orders.out" 2>&1; then
      ok=$((ok + 1)); else refused=$((refused + 1)); fi
    n=$((n + 1)); echo "$ok $refused" >"$WORK/orders.count"; sleep 5
  done ) &
PIDS+=($!)

# --- sampling ------------------------------------------------------------------------------
SAMPLES=$WORK/samples.tsv
: >"$SAMPLES"
WARMUP=120; [ "$MINUTES" -le 5 ] && WARMUP=60
t0=$(date +%s)
log "running ${MINUTES} min of mixed traffic; samples every 10 s (warm-up ${WARMUP} s)"
while running; do
  sleep 10
  t=$(( $(date +%s) - t0 ))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE/status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$SERVE/fd" 2>/dev/null | wc -l)
  rec=$(curl -s "$ADMIN/api/mocks" | grep -o '"recorded_bytes": *[0-9]*' | sed 's/.*: *//')
  printf '%s\t%s\t%s\t%s\n' "$t" "$rss" "$fds" "${rec:-?}" >>"$SAMPLES"
  kill -0 "$SERVE" 2>/dev/null || { log "ntjp serve died:"; tail -20 "$WORK/serve.log" >&2; exit 1; }
done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()

# --- verdict -------------------------------------------------------------------------------
verdict() { # COLUMN NAME -> "baseline end growth% ok|FAIL"
  awk -F'\t' -v c="$1" -v w="$WARMUP" '
    { t[NR] = $1; v[NR] = $c }
    END {
      base = 0; for (i = 1; i <= NR; i++) if (t[i] > w && t[i] <= w + 60 && v[i] > base) base = v[i]
      end = -1; for (i = NR - 2; i <= NR; i++) if (i > 0 && (end < 0 || v[i] < end)) end = v[i]
      g = base > 0 ? (end - base) * 100 / base : 0
      printf "%s %s %.1f %s\n", base, end, g, (g > 10 ? "FAIL" : "ok") }' "$SAMPLES"
}
read -r rss_base rss_end rss_growth rss_ok < <(verdict 2)
read -r fd_base fd_end fd_growth fd_ok < <(verdict 3)

log "restarting on the same state directory"
exports "$WORK/before"
kill -TERM "$SERVE"; wait "$SERVE" 2>/dev/null || true
start
exports "$WORK/after"
same=ok
for env in sit qa prod; do
  cmp -s "$WORK/before/$env.json" "$WORK/after/$env.json" || {
    same=FAIL; mkdir -p "$(dirname "$OUT")"
    cp "$WORK/before/$env.json" "$(dirname "$OUT")/$env-before.json"; cp "$WORK/after/$env.json" "$(dirname "$OUT")/$env-after.json"
    log "$env: the TAK after the restart differs (both exports in $(dirname "$OUT")/)"; }
done
kill -TERM "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=

count() { grep -o "\"$2\": [0-9]*" "$1" 2>/dev/null | head -1 | sed 's/.*: //'; }
read -r orders_ok orders_refused <"$WORK/orders.count" || { orders_ok=0; orders_refused=0; }
mkdir -p "$(dirname "$OUT")"
{
  echo "### Soak ($(date -u +%Y-%m-%d), ${MINUTES} min, commit $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r)."
  echo
  echo "| traffic | answered | of which 200 | transport errors |"
  echo "|---|---|---|---|"
  for f in valid-sit valid-qa valid-prod vp004 vp007 vp015 invalid; do
    printf '| %s | %s | %s | %s |\n' "$f" "$(count "$WORK/$f.json" answered)" "$(count "$WORK/$f.json" 200)" "$(count "$WORK/$f.json" errors)"
  done
  echo
  echo "Orders: $orders_ok accepted and published, $orders_refused refused. Slow clients: 20 at a time throughout." \
       "The mocks' recorder bound: $RECORDING_BYTES bytes."
  echo
  echo "| | highest in the minute after warm-up | lowest of the last three samples | growth | |"
  echo "|---|---|---|---|---|"
  echo "| resident memory (kB) | $rss_base | $rss_end | $rss_growth % | $rss_ok |"
  echo "| open file descriptors | $fd_base | $fd_end | $fd_growth % | $fd_ok |"
  echo
  echo "Restart on the same state directory: every environment's TAK export the same as before: $same."
  echo
  echo "Samples (seconds, VmRSS kB, open fds, bytes the mocks' recorder counts):"
  echo
  echo '```'
  cat "$SAMPLES"
  echo '```'
} >"$OUT"
cat "$OUT"
[ "$rss_ok" = ok ] && [ "$fd_ok" = ok ] && [ "$same" = ok ] || { log "FAILED"; exit 1; }
log "passed; report in $OUT"
