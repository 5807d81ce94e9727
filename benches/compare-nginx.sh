#!/usr/bin/env bash
# The router side by side with nginx, on one machine of at least two cores:
#
#   bash benches/compare-nginx.sh [--rounds N] [--duration SECS] [--tak-rows N] [--perf] [--quick] [--out DIR]
#
# A cheap fixed-answer producer (nginx, HTTPS, keep-alive) runs on core 1 with the load
# generator (`ntjp load`). The proxy under test runs alone on core 0: either nginx as a
# mutual-TLS terminating reverse proxy (same certificates, client certificates required, the
# consumer's HSA-id passed on as x-vp-sender-id, HTTPS with the platform certificate and
# keep-alive towards the producer; one worker), or the router (`ntjp serve`, one tokio worker
# because of taskset, default log settings) with a route to the same producer. Both get the
# same requests over TLS 1.3 with X25519.
#
# Every round runs, interleaved: keep-alive, new connection with TLS resumption and new
# connection with a full handshake, each against nginx and the router; plain HTTP keep-alive
# against both (the router's internal listener with x-vp-sender-id/x-vp-instance-id, nginx's
# plain listener with the same headers); the producer directly; the router with RUST_LOG=warn
# (keep-alive); a third router whose TAK holds --tak-rows routes and as many authorisations
# (default 1,000,000; 0 leaves it out), keep-alive over 4,096 logical addresses spread evenly
# across that TAK, so lookups are not served from a few hot cache lines. Then, at a fixed rate
# of half nginx's median keep-alive capacity, the open model against both for p50/p99. Each
# proxy's CPU time comes from /proc/<pid>/stat (utime+stime; nginx: master and worker) around
# each run: CPU µs per request is the figure that survives a noisy machine. Prints a markdown
# table (medians, ranges, per-round ratios router/nginx) and writes it with the raw JSON to
# --out (default target/compare-nginx/). --perf then profiles the router (perf record, keep-alive
# over mutual TLS and plain HTTP in) and adds where its cycles go (kernel, TLS, HTTP, ...).
#
# Needs only the Rust toolchain: installs nginx with apt-get when missing and builds the
# release binary. Cleans up every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

ROUNDS=3
DURATION=10
WARMUP=1
OUT=$REPO/target/compare-nginx
QUICK=0
PERF=0
TAK_ROWS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --tak-rows) TAK_ROWS=$2; shift 2 ;;
    --perf) PERF=1; shift ;;
    --quick) QUICK=1; ROUNDS=1; DURATION=2; TAK_ROWS=0; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$ROUNDS$DURATION$TAK_ROWS" in *[!0-9]*) echo "--rounds, --duration and --tak-rows take whole numbers" >&2; exit 2 ;; esac
if [ "$(nproc)" -lt 2 ]; then
  echo "needs at least 2 cores (the proxy alone on core 0, load generator and producer on core 1); nproc says $(nproc)" >&2
  exit 1
fi

log() { printf '[compare-nginx] %s\n' "$*" >&2; }

# --- nginx, the release binary -------------------------------------------------------------
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
  log "installing nginx"
  # Keep the package from starting its own service on port 80 while it installs.
  POLICY_ADDED=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    POLICY_ADDED=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  [ "$POLICY_ADDED" = 1 ] && rm -f /usr/sbin/policy-rc.d
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux >/dev/null; }
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
  log "installing perf"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
fi
log "building the release binary"
cargo build --release --quiet
if [ "$TAK_ROWS" -gt 0 ]; then cargo build --release --quiet --example journal_replay; fi
NTJP=$REPO/target/release/ntjp

# --- processes and clean-up ----------------------------------------------------------------
. benches/lib.sh   # free_port, wait_for_port, family, cpu_ticks, TICK_US, jget, ep, route_order
start_work compare-nginx

# --- PKI, router, order --------------------------------------------------------------------
STATE=$WORK/state
log "starting the router (state in $STATE)"
taskset -c 0 "$NTJP" serve --ephemeral-ports --state-dir "$STATE" >"$WORK/router.out" 2>>"$WORK/router.log" &
ROUTER=$!; PIDS+=("$ROUTER")
for i in $(seq 1 200); do [ -s "$STATE/endpoints.json" ] && break; sleep 0.1; done
[ -s "$STATE/endpoints.json" ] || { log "the router did not start:"; cat "$WORK/router.log" >&2; exit 1; }
CA=$STATE/pki/ca.pem
CONSUMER_CERT=$STATE/pki/consumer.pem
CONSUMER_KEY=$STATE/pki/consumer-key.pem
PLATFORM_CERT=$STATE/pki/platform.pem
PLATFORM_KEY=$STATE/pki/platform-key.pem
ROUTER_HTTPS=$(ep "$STATE/endpoints.json" router_https sit)
ROUTER_HTTP=$(ep "$STATE/endpoints.json" router_http sit)
INSTANCE_ID=$(ep "$STATE/endpoints.json" instance_id sit)
SENDER_ID=$(ep "$STATE/endpoints.json" consumer_hsa_id)

CERTS=$WORK/certs
"$NTJP" certs issue --hsa-id TSTNMT2321000156-BENCHPROD --out "$CERTS" --state-dir "$STATE" >/dev/null
mv "$CERTS/TSTNMT2321000156-BENCHPROD.pem" "$CERTS/producer.pem"
mv "$CERTS/TSTNMT2321000156-BENCHPROD-key.pem" "$CERTS/producer-key.pem"

PRODUCER_PORT=$(free_port)
PROXY_HTTPS_PORT=$(free_port)
PROXY_HTTP_PORT=$(free_port)
render() { # TEMPLATE OUT
  sed -e "s|@WORK@|$WORK|g; s|@CERTS@|$CERTS|g; s|@CA@|$CA|g" \
      -e "s|@PLATFORM_CERT@|$PLATFORM_CERT|g; s|@PLATFORM_KEY@|$PLATFORM_KEY|g" \
      -e "s|@PRODUCER_PORT@|$PRODUCER_PORT|g; s|@PROXY_HTTPS_PORT@|$PROXY_HTTPS_PORT|g; s|@PROXY_HTTP_PORT@|$PROXY_HTTP_PORT|g" \
      "$1" >"$2"
}
render benches/nginx/producer.conf.in "$WORK/producer.conf"
render benches/nginx/proxy.conf.in "$WORK/proxy.conf"
log "starting the producer (nginx, core 1) and the nginx proxy (core 0)"
taskset -c 1 "$NGINX" -e "$WORK/producer-error.log" -c "$WORK/producer.conf" -g 'daemon off;' &
PRODUCER=$!; PIDS+=("$PRODUCER")
taskset -c 0 "$NGINX" -e "$WORK/proxy-error.log" -c "$WORK/proxy.conf" -g 'daemon off;' &
PROXY=$!; PIDS+=("$PROXY")
wait_for_port "$PRODUCER_PORT" "the producer"
wait_for_port "$PROXY_HTTPS_PORT" "the nginx proxy"
PROXY_FAMILY=$(family "$PROXY")
PRODUCER_FAMILY=$(family "$PRODUCER")

ADDRESS=BENCH-NGINX
PRODUCER_URL=https://localhost:$PRODUCER_PORT/producer/ProcessCervixScreeningInformation/1/rivtabp21
route_order "$PRODUCER_URL" "$ADDRESS" benches/compare-nginx.sh >"$WORK/order.json"
"$NTJP" order apply "$WORK/order.json" --env sit --state-dir "$STATE" >"$WORK/order.out"

# A second router with RUST_LOG=warn, on the same PKI (its own journal and ports).
STATE_WARN=$WORK/state-warn
mkdir -p "$STATE_WARN" && cp -r "$STATE/pki" "$STATE_WARN/pki"
RUST_LOG=warn taskset -c 0 "$NTJP" serve --ephemeral-ports --state-dir "$STATE_WARN" >"$WORK/router-warn.out" 2>>"$WORK/router-warn.log" &
ROUTER_WARN=$!; PIDS+=("$ROUTER_WARN")
for i in $(seq 1 200); do [ -s "$STATE_WARN/endpoints.json" ] && break; sleep 0.1; done
[ -s "$STATE_WARN/endpoints.json" ] || { log "the RUST_LOG=warn router did not start"; exit 1; }
ROUTER_WARN_HTTPS=$(ep "$STATE_WARN/endpoints.json" router_https sit)
"$NTJP" order apply "$WORK/order.json" --env sit --state-dir "$STATE_WARN" >"$WORK/order-warn.out"

# A third router whose TAK holds $TAK_ROWS routes to the producer (and as many authorisations
# for the consumer), journaled in orders of at most 100,000 rows, replayed at its start.
ADDRS=$ADDRESS
if [ "$TAK_ROWS" -gt 0 ]; then
  STATE_BIG=$WORK/state-big
  mkdir -p "$STATE_BIG" && cp -r "$STATE/pki" "$STATE_BIG/pki"
  log "writing a journal of $TAK_ROWS routes and authorisations for the third router"
  "$REPO/target/release/examples/journal_replay" "$TAK_ROWS" $(( (TAK_ROWS + 99999) / 100000 )) \
    --keep "$STATE_BIG" --write-only --url "$PRODUCER_URL" --consumer "$SENDER_ID" >"$WORK/journal-big.out"
  taskset -c 0 "$NTJP" serve --ephemeral-ports --state-dir "$STATE_BIG" >"$WORK/router-big.out" 2>>"$WORK/router-big.log" &
  ROUTER_BIG=$!; PIDS+=("$ROUTER_BIG")
  for i in $(seq 1 1200); do [ -s "$STATE_BIG/endpoints.json" ] && break; sleep 0.1; done
  [ -s "$STATE_BIG/endpoints.json" ] || { log "the router with $TAK_ROWS routes did not start:"; tail -5 "$WORK/router-big.log" >&2; exit 1; }
  URL_ROUTER_BIG=$(ep "$STATE_BIG/endpoints.json" router_https sit)
  # After a long replay the order service writes a checkpoint: not while measuring.
  for i in $(seq 1 1200); do [ -s "$STATE_BIG/journal.jsonl.checkpoint" ] && break; sleep 0.1; done
  # 4,096 addresses (BULK-0000001 ...) spread evenly across the TAK.
  BIG_ADDRS=$(awk -v n="$TAK_ROWS" 'BEGIN { k = (n < 4096) ? n : 4096
    for (i = 0; i < k; i++) printf "%sBULK-%07d", (i ? "," : ""), 1 + int(i * n / k) }')
fi

CONTRACT_PATH=/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21
URL_NGINX=https://localhost:$PROXY_HTTPS_PORT/vp$CONTRACT_PATH
URL_NGINX_HTTP=http://127.0.0.1:$PROXY_HTTP_PORT/vp$CONTRACT_PATH
URL_ROUTER=$ROUTER_HTTPS$CONTRACT_PATH
URL_ROUTER_HTTP=$ROUTER_HTTP$CONTRACT_PATH
URL_ROUTER_WARN=$ROUTER_WARN_HTTPS$CONTRACT_PATH
URL_PRODUCER=$PRODUCER_URL
[ "$TAK_ROWS" -gt 0 ] && URL_ROUTER_BIG=$URL_ROUTER_BIG$CONTRACT_PATH

# Check every path answers OK before measuring.
LOAD=(taskset -c 1 "$NTJP" load --cacert "$CA" --cert "$CONSUMER_CERT" --key "$CONSUMER_KEY"
      --tls13 --tls-group x25519 -q)   # measure() adds --addresses "$ADDRS"

INTERNAL=(-H "x-vp-sender-id: $SENDER_ID" -H "x-vp-instance-id: $INSTANCE_ID")
for u in "$URL_NGINX" "$URL_ROUTER" "$URL_ROUTER_WARN" "$URL_PRODUCER"; do
  "${LOAD[@]}" --addresses "$ADDRESS" --url "$u" -n 20 -c 2 --json >"$WORK/check.json"
  if [ "$(jget "$WORK/check.json" 200)" != 20 ]; then
    log "$u does not answer 200:"; cat "$WORK/check.json" >&2; tail -5 "$WORK/router.log" >&2; exit 1
  fi
done
for u in "$URL_NGINX_HTTP" "$URL_ROUTER_HTTP"; do
  "${LOAD[@]}" --addresses "$ADDRESS" --url "$u" "${INTERNAL[@]}" -n 20 -c 2 --json >"$WORK/check.json"
  [ "$(jget "$WORK/check.json" 200)" = 20 ] || { log "$u does not answer 200:"; cat "$WORK/check.json" >&2; exit 1; }
done
if [ "$TAK_ROWS" -gt 0 ]; then
  "${LOAD[@]}" --addresses "$BIG_ADDRS" --url "$URL_ROUTER_BIG" -n 4096 -c 4 --json >"$WORK/check.json"
  [ "$(jget "$WORK/check.json" 200)" = 4096 ] || { log "$URL_ROUTER_BIG does not answer 200:"; cat "$WORK/check.json" >&2; exit 1; }
fi

# --- measuring -----------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$OUT/json"
RESULTS=$WORK/results.tsv   # round scenario target metric value
: >"$RESULTS"

# measure ROUND SCENARIO TARGET PID -- load arguments...
measure() {
  local round=$1 scenario=$2 target=$3 pid=$4; shift 5
  local json=$OUT/json/$scenario-$target-$round.json before after answered ok
  "${LOAD[@]}" --addresses "$ADDRS" "$@" -d "${WARMUP}s" >/dev/null     # warm connections, caches, sessions
  : >"$WORK/router.log"; : >"$WORK/router-warn.log"; : >"$WORK/router-big.log"   # keep log files small
  before=$(cpu_ticks "$pid")
  "${LOAD[@]}" --addresses "$ADDRS" "$@" -d "${DURATION}s" --json >"$json"
  after=$(cpu_ticks "$pid")
  answered=$(jget "$json" answered)
  ok=$(jget "$json" 200); ok=${ok:-0}
  {
    printf '%s\t%s\t%s\treq_s\t%s\n' "$round" "$scenario" "$target" "$(jget "$json" requests_per_s)"
    printf '%s\t%s\t%s\tp50_ms\t%s\n' "$round" "$scenario" "$target" "$(awk -v v="$(jget "$json" p50)" 'BEGIN{printf "%.3f", v/1000}')"
    printf '%s\t%s\t%s\tp99_ms\t%s\n' "$round" "$scenario" "$target" "$(awk -v v="$(jget "$json" p99)" 'BEGIN{printf "%.3f", v/1000}')"
    printf '%s\t%s\t%s\tcpu_us\t%s\n' "$round" "$scenario" "$target" \
      "$(awk -v t=$((after - before)) -v n="$answered" -v u="$TICK_US" 'BEGIN{ if (n > 0) printf "%.1f", t*u/n; else print "nan" }')"
    printf '%s\t%s\t%s\tgen_cpu_us\t%s\n' "$round" "$scenario" "$target" "$(jget "$json" us_per_request)"
    printf '%s\t%s\t%s\tfailed\t%s\n' "$round" "$scenario" "$target" $((answered - ok + $(jget "$json" errors)))
  } >>"$RESULTS"
  log "round $round $scenario $target: $(jget "$json" requests_per_s) req/s, p99 $(jget "$json" p99) µs, proxy CPU $(awk -v t=$((after - before)) -v n="$answered" -v u="$TICK_US" 'BEGIN{ if (n > 0) printf "%.1f", t*u/n }') µs/req, $((answered - ok)) not 200, $(jget "$json" errors) errors"
}

pair() { # ROUND SCENARIO -- load arguments (both proxies, alternating who goes first)
  local round=$1 scenario=$2; shift 3
  if [ $((round % 2)) = 1 ]; then
    measure "$round" "$scenario" nginx "$PROXY_FAMILY" -- --url "$URL_NGINX" "$@"
    measure "$round" "$scenario" router "$ROUTER" -- --url "$URL_ROUTER" "$@"
  else
    measure "$round" "$scenario" router "$ROUTER" -- --url "$URL_ROUTER" "$@"
    measure "$round" "$scenario" nginx "$PROXY_FAMILY" -- --url "$URL_NGINX" "$@"
  fi
}

for round in $(seq 1 "$ROUNDS"); do
  pair "$round" keep-alive -- --mode keep-alive -c 32
  pair "$round" resumed -- --mode resume -c 16
  pair "$round" full-handshake -- --mode full -c 16
  if [ $((round % 2)) = 1 ]; then
    measure "$round" plain-http nginx "$PROXY_FAMILY" -- --url "$URL_NGINX_HTTP" "${INTERNAL[@]}" -c 32
    measure "$round" plain-http router "$ROUTER" -- --url "$URL_ROUTER_HTTP" "${INTERNAL[@]}" -c 32
  else
    measure "$round" plain-http router "$ROUTER" -- --url "$URL_ROUTER_HTTP" "${INTERNAL[@]}" -c 32
    measure "$round" plain-http nginx "$PROXY_FAMILY" -- --url "$URL_NGINX_HTTP" "${INTERNAL[@]}" -c 32
  fi
  measure "$round" keep-alive router-warn "$ROUTER_WARN" -- --url "$URL_ROUTER_WARN" -c 32
  if [ "$TAK_ROWS" -gt 0 ]; then
    ADDRS=$BIG_ADDRS
    measure "$round" keep-alive router-big "$ROUTER_BIG" -- --url "$URL_ROUTER_BIG" -c 32
    ADDRS=$ADDRESS
  fi
  measure "$round" producer-direct producer "$PRODUCER_FAMILY" -- --url "$URL_PRODUCER" -c 32
done

# median MIN MAX of the values of (scenario, target, metric).
stats() {
  awk -F'\t' -v s="$1" -v t="$2" -v m="$3" '$2==s && $3==t && $4==m {print $5}' "$RESULTS" | sort -g \
    | awk '{v[NR]=$1} END { if (NR == 0) { print "- - -"; exit }
             med = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
             printf "%s %s %s\n", med, v[1], v[NR] }'
}
value() { awk -F'\t' -v r="$1" -v s="$2" -v t="$3" -v m="$4" '$1==r && $2==s && $3==t && $4==m {print $5}' "$RESULTS"; }

RATE=$(stats keep-alive nginx req_s | awk '{printf "%d", $1 / 2}')
log "fixed rate: $RATE req/s (half nginx's median keep-alive capacity)"
for round in $(seq 1 "$ROUNDS"); do
  pair "$round" fixed-rate -- --rate "$RATE" -c 64
done

# --- the table -----------------------------------------------------------------------------
fmt() { # VALUE -> rounded for the table
  awk -v v="$1" 'BEGIN { if (v == "-" || v == "nan") print "-"; else if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'
}
cell() { # SCENARIO TARGET METRIC -> "median (min–max)"
  local med lo hi
  read -r med lo hi < <(stats "$1" "$2" "$3")
  if [ "$ROUNDS" = 1 ]; then fmt "$med"; else printf '%s (%s–%s)' "$(fmt "$med")" "$(fmt "$lo")" "$(fmt "$hi")"; fi
}
ratios() { # SCENARIO METRIC [TARGET [BASE]] -> per-round TARGET/BASE (router/nginx), and their median
  local r a b list=() med
  for r in $(seq 1 "$ROUNDS"); do
    a=$(value "$r" "$1" "${3:-router}" "$2"); b=$(value "$r" "$1" "${4:-nginx}" "$2")
    list+=("$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "-" }')")
  done
  med=$(printf '%s\n' "${list[@]}" | sort -g | awk '{v[NR]=$1} END { printf "%.2f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }')
  printf '**%s** (%s)' "$med" "$(IFS=' '; echo "${list[*]}")"
}
row() { # LABEL SCENARIO METRIC [ROUTER_TARGET]
  printf '| %s | %s | %s | %s |\n' "$1" "$(cell "$2" nginx "$3")" "$(cell "$2" "${4:-router}" "$3")" "$(ratios "$2" "$3" "${4:-router}")"
}
failures() { awk -F'\t' '$4=="failed" {s+=$5} END {print s+0}' "$RESULTS"; }

TABLE=$WORK/table.md
{
  echo "### Router vs nginx ($(date -u +%Y-%m-%d), $ROUNDS round(s) of ${DURATION} s per run)"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r);" \
       "$("$NGINX" -v 2>&1 | sed 's/.*: //') ($("$NGINX" -V 2>&1 | grep -o 'running with OpenSSL [^ ]*' || "$NGINX" -V 2>&1 | grep -o 'built with OpenSSL [^ ]*'));" \
       "router $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?') (release build, default log settings)."
  echo "Proxy under test alone on core 0 (nginx: 1 worker; router: 1 tokio worker), \`ntjp load\` and the nginx producer on core 1;"
  echo "TLS 1.3, X25519, mutual TLS with the testbed's certificates on both sides; 32 connections keep-alive, 16 for new connections."
  echo "Medians (min–max) over rounds; ratio = router/nginx, median (per round)."
  echo "CPU µs/request = the proxy process's utime+stime from /proc over the run ÷ answers. Failed requests (not 200 or no answer): $(failures)."
  echo "Load average (1, 5, 15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg) — above ~1, other processes shared the cores:" \
       "req/s and latency are then noisy, CPU µs/request much less so."
  echo
  echo "| | nginx (mTLS proxy, no VP work) | router | router/nginx |"
  echo "|---|---|---|---|"
  row "keep-alive, req/s" keep-alive req_s
  row "keep-alive, CPU µs/request" keep-alive cpu_us
  row "keep-alive, p50 ms" keep-alive p50_ms
  row "keep-alive, p99 ms" keep-alive p99_ms
  row "keep-alive, RUST_LOG=warn, req/s" keep-alive req_s router-warn
  row "keep-alive, RUST_LOG=warn, CPU µs/request" keep-alive cpu_us router-warn
  if [ "$TAK_ROWS" -gt 0 ]; then
    row "keep-alive, TAK of $TAK_ROWS routes, req/s" keep-alive req_s router-big
    row "keep-alive, TAK of $TAK_ROWS routes, CPU µs/request" keep-alive cpu_us router-big
  fi
  row "plain HTTP in, req/s" plain-http req_s
  row "plain HTTP in, CPU µs/request" plain-http cpu_us
  row "new connection, resumed, req/s" resumed req_s
  row "new connection, resumed, CPU µs/request" resumed cpu_us
  row "new connection, full handshake, req/s" full-handshake req_s
  row "new connection, full handshake, CPU µs/request" full-handshake cpu_us
  row "fixed $RATE req/s, p50 ms" fixed-rate p50_ms
  row "fixed $RATE req/s, p99 ms" fixed-rate p99_ms
  row "fixed $RATE req/s, CPU µs/request" fixed-rate cpu_us
  echo
  if [ "$TAK_ROWS" -gt 0 ]; then
    echo "The router with a TAK of $TAK_ROWS routes and as many authorisations (requests spread over 4,096 of its logical addresses)" \
         "against the router with the default TAK (one address): req/s $(ratios keep-alive req_s router-big router)," \
         "CPU µs/request $(ratios keep-alive cpu_us router-big router)."
  fi
  echo "The producer alone (keep-alive, no proxy): $(cell producer-direct producer req_s) req/s," \
       "$(cell producer-direct producer cpu_us) CPU µs/request."
  echo "The load generator's own CPU per request (keep-alive): against nginx $(cell keep-alive nginx gen_cpu_us) µs," \
       "against the router $(cell keep-alive router gen_cpu_us) µs."
  echo
  echo "Reproduce: \`bash benches/compare-nginx.sh --rounds $ROUNDS --duration $DURATION$( [ "$TAK_ROWS" != 1000000 ] && echo " --tak-rows $TAK_ROWS")$( [ "$PERF" = 1 ] && echo ' --perf')\`$( [ "$QUICK" = 1 ] && echo ' (this was --quick: figures only show the script works)')."
} >"$TABLE"
# --- where the router's cycles go (--perf) -------------------------------------------------
# profile NAME -- load arguments: perf record of the router over one run; its symbols summed by part.
profile() { # NAME PID ADDRESSES -- load arguments
  local name=$1 pid=$2 addrs=$3 load; shift 4
  "${LOAD[@]}" --addresses "$addrs" "$@" -d "$((DURATION + 2))s" >/dev/null &
  load=$!
  sleep 1
  perf record -q -F 1999 -p "$pid" -o "$WORK/perf-$name.data" -- sleep "$DURATION" >/dev/null 2>&1
  wait "$load"
  perf report -i "$WORK/perf-$name.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null \
    | grep -E '^ +[0-9.]+%' >"$OUT/perf-$name.txt"
  awk '{ pct = $1; sub(/%/, "", pct); sym = $0; sub(/^ *[0-9.]+% +[^ ]+ +/, "", sym)
         if (sym ~ /^\[k\]/) part = "kernel"
         else if (sym ~ /rustls|aws_lc|aws-lc|ring::/) part = "TLS (rustls, aws-lc)"
         else if (sym ~ /hyper|httparse|http::|http_body/) part = "HTTP (hyper, httparse)"
         else if (sym ~ /tokio|mio::/) part = "runtime (tokio)"
         else if (sym ~ /jemalloc|_rjem_|je_|malloc|free|realloc/) part = "allocator"
         else if (sym ~ /memmove|memcpy|memset|memcmp|bcmp/) part = "copies (memcpy, memmove)"
         else if (sym ~ /soap::sniff/) part = "SOAP sniff"
         else if (sym ~ /tak::/) part = "TAK lookups"
         else if (sym ~ /logging|tracing/) part = "logging"
         else if (sym ~ /ntjp_testbed/) part = "router pipeline (rest)"
         else part = "other"
         share[part] += pct }
       END { for (p in share) printf "%s\t%.1f\n", p, share[p] }' "$OUT/perf-$name.txt" | sort -t$'\t' -k2 -gr >"$WORK/parts-$name.tsv"
}
if [ "$PERF" = 1 ]; then
  log "profiling the router (perf record, keep-alive over mutual TLS, then plain HTTP in)"
  profile mtls "$ROUTER" "$ADDRESS" -- --url "$URL_ROUTER" -c 32
  profile plain "$ROUTER" "$ADDRESS" -- --url "$URL_ROUTER_HTTP" "${INTERNAL[@]}" -c 32
  if [ "$TAK_ROWS" -gt 0 ]; then
    profile big "$ROUTER_BIG" "$BIG_ADDRS" -- --url "$URL_ROUTER_BIG" -c 32
  else
    : >"$WORK/parts-big.tsv"
  fi
  {
    echo
    echo "Where the router's cycles go (\`perf record -F 1999\` over one ${DURATION} s keep-alive run, symbols summed by part; full lists in perf-mtls.txt, perf-plain.txt):"
    echo
    share() { awk -F'\t' -v p="$1" '$1==p {v=$2} END {print (v == "" ? "-" : v " %")}' "$2"; }
    if [ "$TAK_ROWS" -gt 0 ]; then
      echo "| part | mutual TLS | plain HTTP in | mutual TLS, TAK of $TAK_ROWS routes (perf-big.txt) |"
      echo "|---|---|---|---|"
    else
      echo "| part | mutual TLS | plain HTTP in |"
      echo "|---|---|---|"
    fi
    cut -f1 "$WORK/parts-mtls.tsv" | while read -r part; do
      printf '| %s | %s | %s |' "$part" "$(share "$part" "$WORK/parts-mtls.tsv")" "$(share "$part" "$WORK/parts-plain.tsv")"
      if [ "$TAK_ROWS" -gt 0 ]; then printf ' %s |' "$(share "$part" "$WORK/parts-big.tsv")"; fi
      echo
    done
  } >>"$TABLE"
fi
cp "$TABLE" "$OUT/results.md"
cp "$RESULTS" "$OUT/results.tsv"
echo
cat "$TABLE"
log "written to $OUT/results.md (raw figures: $OUT/results.tsv, $OUT/json/)"
