#!/usr/bin/env bash
# Routing throughput with 1, 2 and 3 router processes behind haproxy, on one machine:
#
#   bash benches/cluster-throughput.sh [--rounds N] [--duration SECS] [--connections N] [--quick] [--out DIR]
#
# The split testbed of docs/SCALING.md: one order service (`ntjp serve --role orders`) and
# three router nodes (`--role router`, SIT only) that load their TAK from it, with Debian's
# haproxy in front terminating the consumers' mutual TLS and passing the certificate on in
# x-vp-auth-cert to the routers' plain-HTTP listeners (as NTjP's load balancers do), checking
# each router's /health/ready. The producer is the cheap fixed-answer nginx of
# benches/compare-nginx.sh (HTTPS, keep-alive), so what is measured is routing, not a mock's
# contract check. The load generator (`ntjp load`, keep-alive, --connections) calls haproxy.
#
# Every round runs, in a rotating order: haproxy with router 1 only, with routers 1-2, with
# routers 1-3, and router 1 called directly over mutual TLS (no haproxy). Each run reports
# req/s, p50/p99 and CPU µs per request of the routers together and of haproxy, from
# /proc/<pid>/stat around the run. Prints a markdown table (medians, ranges, and req/s as a
# ratio to one router behind haproxy, per round) and writes it with the raw JSON to --out
# (default target/cluster-throughput/). Nothing is pinned to a core: on a machine with fewer
# cores than processes the figures show what the cores allow, which is the point.
#
# Needs only the Rust toolchain: installs nginx and haproxy with apt-get when missing and
# builds the release binary. Cleans up every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

ROUNDS=3
DURATION=10
WARMUP=1
CONNECTIONS=64
OUT=$REPO/target/cluster-throughput
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick) ROUNDS=1; DURATION=2; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$ROUNDS$DURATION$CONNECTIONS" in *[!0-9]*) echo "--rounds, --duration and --connections take whole numbers" >&2; exit 2 ;; esac

log() { printf '[cluster-throughput] %s\n' "$*" >&2; }
. benches/lib.sh   # free_port, wait_for_port, family, cpu_ticks, TICK_US, jget, ensure_package, route_order

ensure_package nginx nginx-light
ensure_package haproxy haproxy
ensure_package curl curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
log "building the release binary"
cargo build --release --quiet --bin ntjp
NTJP=$REPO/target/release/ntjp

start_work cluster-throughput

wait_http_200() { # URL WHAT
  local i
  for i in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  log "$2: $1 did not answer 200"; return 1
}

# --- the nodes -----------------------------------------------------------------------------
PKI=$WORK/pki
ORDERS_ADMIN=$(free_port)
R_ADMIN=("$(free_port)" "$(free_port)" "$(free_port)")
R_HTTPS=("$(free_port)" "$(free_port)" "$(free_port)")
R_HTTP=("$(free_port)" "$(free_port)" "$(free_port)")
ROUTERS_JSON=$(printf '"http://127.0.0.1:%s",' "${R_ADMIN[@]}"); ROUTERS_JSON="[${ROUTERS_JSON%,}]"
log "starting the order service"
NTJP_PKI__DIR=$PKI NTJP_ADMIN=127.0.0.1:$ORDERS_ADMIN NTJP_CLUSTER__ROUTERS=$ROUTERS_JSON \
  NTJP_CLUSTER__MOCKS_URL=https://localhost:1/mocks \
  "$NTJP" serve --role orders --state-dir "$WORK/orders" >"$WORK/orders.out" 2>"$WORK/orders.log" &
PIDS+=("$!")
wait_http_200 "http://127.0.0.1:$ORDERS_ADMIN/health/ready" "the order service"

CERTS=$WORK/certs
NTJP_PKI__DIR=$PKI "$NTJP" certs issue --hsa-id TSTNMT2321000156-BENCHPROD --out "$CERTS" --state-dir "$WORK/orders" >/dev/null
mv "$CERTS/TSTNMT2321000156-BENCHPROD.pem" "$CERTS/producer.pem"
mv "$CERTS/TSTNMT2321000156-BENCHPROD-key.pem" "$CERTS/producer-key.pem"
PRODUCER_PORT=$(free_port)
sed -e "s|@WORK@|$WORK|g; s|@CERTS@|$CERTS|g; s|@CA@|$PKI/ca.pem|g; s|@PRODUCER_PORT@|$PRODUCER_PORT|g" \
  benches/nginx/producer.conf.in >"$WORK/producer.conf"
"$NGINX" -e "$WORK/producer-error.log" -c "$WORK/producer.conf" -g 'daemon off;' &
PIDS+=("$!")
wait_for_port "$PRODUCER_PORT" "the producer"
ADDRESS=BENCH-CLUSTER
route_order "https://localhost:$PRODUCER_PORT/producer/ProcessCervixScreeningInformation/1/rivtabp21" "$ADDRESS" \
  benches/cluster-throughput.sh >"$WORK/order.json"
"$NTJP" order apply "$WORK/order.json" --env sit --state-dir "$WORK/orders" >"$WORK/order.out"

ROUTER_PIDS=""
for i in 0 1 2; do
  log "starting router $((i + 1))"
  NTJP_PKI__DIR=$PKI NTJP_ADMIN=127.0.0.1:${R_ADMIN[$i]} \
    NTJP_ENVIRONMENTS__SIT__HTTPS=127.0.0.1:${R_HTTPS[$i]} NTJP_ENVIRONMENTS__SIT__HTTP=127.0.0.1:${R_HTTP[$i]} \
    NTJP_CLUSTER__ENVIRONMENTS='["sit"]' NTJP_CLUSTER__ORDERS_URL=http://127.0.0.1:$ORDERS_ADMIN \
    "$NTJP" serve --role router --state-dir "$WORK/r$((i + 1))" >"$WORK/r$((i + 1)).out" 2>"$WORK/r$((i + 1)).log" &
  PIDS+=("$!"); ROUTER_PIDS="$ROUTER_PIDS $!"
done
for i in 0 1 2; do wait_http_200 "http://127.0.0.1:${R_ADMIN[$i]}/health/ready" "router $((i + 1))"; done

# --- haproxy with the first N routers -------------------------------------------------------
cat "$PKI/platform.pem" "$PKI/platform-key.pem" >"$WORK/haproxy.pem"
FRONT=$(free_port)
STATS=$(free_port)
haproxy_config() { # N
  cat <<EOF
global
  maxconn 8192
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
  option http-buffer-request
frontend vp
  bind 127.0.0.1:$FRONT ssl crt $WORK/haproxy.pem ca-file $PKI/ca.pem verify required ssl-min-ver TLSv1.3
  http-request set-header x-vp-auth-cert %[ssl_c_der,base64]
  default_backend routers
backend routers
  balance roundrobin
  http-reuse always
  option httpchk GET /health/ready
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
EOF
  local i
  for i in $(seq 0 $(($1 - 1))); do
    echo "  server r$((i + 1)) 127.0.0.1:${R_HTTP[$i]} check port ${R_ADMIN[$i]}"
  done
  cat <<EOF
listen stats
  bind 127.0.0.1:$STATS
  stats enable
  stats uri /stats
EOF
}
HAPROXY_PID=""
start_haproxy() { # N
  haproxy_config "$1" >"$WORK/haproxy-$1.cfg"
  "$HAPROXY" -c -q -f "$WORK/haproxy-$1.cfg"
  "$HAPROXY" -db -f "$WORK/haproxy-$1.cfg" >>"$WORK/haproxy.log" 2>&1 &
  HAPROXY_PID=$!; PIDS+=("$HAPROXY_PID")
  local i up
  for i in $(seq 1 100); do
    up=$({ curl -s "http://127.0.0.1:$STATS/stats;csv" || true; } | awk -F, '$1=="routers" && $2 ~ /^r[0-9]/ && $18=="UP"' | wc -l)
    [ "$up" = "$1" ] && return 0
    sleep 0.1
  done
  log "haproxy did not see $1 routers UP"; return 1
}
stop_haproxy() {
  kill "$HAPROXY_PID" 2>/dev/null || true
  wait "$HAPROXY_PID" 2>/dev/null || true
}

CONTRACT_PATH=/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21
URL_LB=https://localhost:$FRONT/vp$CONTRACT_PATH
URL_DIRECT=https://localhost:${R_HTTPS[0]}/vp$CONTRACT_PATH
LOAD=("$NTJP" load --cacert "$PKI/ca.pem" --cert "$PKI/consumer.pem" --key "$PKI/consumer-key.pem"
      --addresses "$ADDRESS" -q --mode keep-alive -c "$CONNECTIONS")

mkdir -p "$OUT/json"
RESULTS=$WORK/results.tsv   # round target metric value
: >"$RESULTS"
measure() { # ROUND TARGET URL
  local round=$1 target=$2 url=$3 json=$OUT/json/$2-$1.json r0 r1 h0 h1 answered ok
  "${LOAD[@]}" --url "$url" -d "${WARMUP}s" >/dev/null
  r0=$(cpu_ticks "$ROUTER_PIDS"); h0=$(cpu_ticks "$HAPROXY_PID")
  "${LOAD[@]}" --url "$url" -d "${DURATION}s" --json >"$json"
  r1=$(cpu_ticks "$ROUTER_PIDS"); h1=$(cpu_ticks "$HAPROXY_PID")
  answered=$(jget "$json" answered); ok=$(jget "$json" 200); ok=${ok:-0}
  {
    printf '%s\t%s\treq_s\t%s\n' "$round" "$target" "$(jget "$json" requests_per_s)"
    printf '%s\t%s\tp50_ms\t%s\n' "$round" "$target" "$(awk -v v="$(jget "$json" p50)" 'BEGIN{printf "%.3f", v/1000}')"
    printf '%s\t%s\tp99_ms\t%s\n' "$round" "$target" "$(awk -v v="$(jget "$json" p99)" 'BEGIN{printf "%.3f", v/1000}')"
    printf '%s\t%s\trouters_cpu_us\t%s\n' "$round" "$target" "$(awk -v t=$((r1 - r0)) -v n="$answered" -v u="$TICK_US" 'BEGIN{ if (n > 0) printf "%.1f", t*u/n; else print "nan" }')"
    printf '%s\t%s\thaproxy_cpu_us\t%s\n' "$round" "$target" "$(awk -v t=$((h1 - h0)) -v n="$answered" -v u="$TICK_US" 'BEGIN{ if (n > 0) printf "%.1f", t*u/n; else print "nan" }')"
    printf '%s\t%s\tfailed\t%s\n' "$round" "$target" $((answered - ok + $(jget "$json" errors)))
  } >>"$RESULTS"
  log "round $round $target: $(jget "$json" requests_per_s) req/s, p99 $(jget "$json" p99) µs, $((answered - ok)) not 200, $(jget "$json" errors) errors"
}

# Every path answers OK before measuring.
start_haproxy 3
for u in "$URL_LB" "$URL_DIRECT"; do
  "${LOAD[@]}" --url "$u" -n 30 --json >"$WORK/check.json"
  [ "$(jget "$WORK/check.json" 200)" = 30 ] || { log "$u does not answer 200:"; cat "$WORK/check.json" >&2; tail -5 "$WORK/r1.log" >&2; exit 1; }
done
stop_haproxy

# Publish to all three routers: a pending change (a second route), then POST /publish, which
# answers once every router has reloaded; its time is the publish plus the slowest reset.
route_order "https://localhost:$PRODUCER_PORT/producer/ProcessCervixScreeningInformation/1/rivtabp21" "$ADDRESS-2" \
  benches/cluster-throughput.sh >"$WORK/order-2.json"
curl -s -H 'Content-Type: application/json' -d '{"auto_publish": false}' "http://127.0.0.1:$ORDERS_ADMIN/api/sit/settings" >/dev/null
"$NTJP" order apply "$WORK/order-2.json" --env sit --state-dir "$WORK/orders" >"$WORK/order-2.out"
PUBLISH_S=$(curl -s -o "$WORK/publish.json" -w '%{time_total}' -H 'Content-Type: application/json' -d '{}' \
  "http://127.0.0.1:$ORDERS_ADMIN/api/sit/publish")
REFRESHED=$(grep -o '"refreshed": true' "$WORK/publish.json" | wc -l)
[ "$REFRESHED" = 3 ] || { log "the publish did not reach all three routers:"; cat "$WORK/publish.json" >&2; exit 1; }
PUBLISH_MS=$(awk -v s="$PUBLISH_S" 'BEGIN { printf "%.0f", s * 1000 }')
log "publish reached all 3 routers in $PUBLISH_MS ms"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TARGETS=(lb-1 lb-2 lb-3 direct-1)
for round in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2 3; do
    target=${TARGETS[$(((k + round - 1) % 4))]}
    case "$target" in
      lb-*) start_haproxy "${target#lb-}"; measure "$round" "$target" "$URL_LB"; stop_haproxy ;;
      direct-1) HAPROXY_PID=""; measure "$round" "$target" "$URL_DIRECT" ;;
    esac
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table -----------------------------------------------------------------------------
stats() { # TARGET METRIC -> median min max
  awk -F'\t' -v t="$1" -v m="$2" '$2==t && $3==m {print $4}' "$RESULTS" | sort -g \
    | awk '{v[NR]=$1} END { if (NR == 0) { print "- - -"; exit }
             med = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
             printf "%s %s %s\n", med, v[1], v[NR] }'
}
value() { awk -F'\t' -v r="$1" -v t="$2" -v m="$3" '$1==r && $2==t && $3==m {print $4}' "$RESULTS"; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "nan") print "-"; else if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
cell() { # TARGET METRIC
  local med lo hi
  read -r med lo hi < <(stats "$1" "$2")
  if [ "$ROUNDS" = 1 ]; then fmt "$med"; else printf '%s (%s–%s)' "$(fmt "$med")" "$(fmt "$lo")" "$(fmt "$hi")"; fi
}
ratio() { # TARGET -> req/s ÷ lb-1's, per round, and their median
  local r list=() med
  for r in $(seq 1 "$ROUNDS"); do
    list+=("$(awk -v a="$(value "$r" "$1" req_s)" -v b="$(value "$r" lb-1 req_s)" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "-" }')")
  done
  med=$(printf '%s\n' "${list[@]}" | sort -g | awk '{v[NR]=$1} END { printf "%.2f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }')
  printf '**%s** (%s)' "$med" "$(IFS=' '; echo "${list[*]}")"
}
FAILED=$(awk -F'\t' '$3=="failed" {s+=$4} END {print s+0}' "$RESULTS")
{
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $("$HAPROXY" -v | head -1 | cut -d' ' -f1-3); router $(git rev-parse --short HEAD 2>/dev/null || echo '?') (release build, default log settings)."
  echo "$ROUNDS round(s) of ${DURATION} s per run, $CONNECTIONS keep-alive connections, TLS 1.3 mutual TLS; haproxy terminates it and passes the certificate in x-vp-auth-cert. Nothing pinned."
  echo "CPU µs/request = utime+stime from /proc over the run ÷ answers (routers: all three processes). Failed requests: $FAILED. Load average before: $LOAD_BEFORE, after: $LOAD_AFTER."
  echo
  echo "| | req/s | req/s ÷ 1 router behind haproxy | p50 ms | p99 ms | routers' CPU µs/request | haproxy's CPU µs/request |"
  echo "|---|---|---|---|---|---|---|"
  for t in lb-1 lb-2 lb-3 direct-1; do
    case "$t" in
      lb-1) label="haproxy + 1 router" ;; lb-2) label="haproxy + 2 routers" ;; lb-3) label="haproxy + 3 routers" ;;
      direct-1) label="1 router, called directly (mutual TLS)" ;;
    esac
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(cell "$t" req_s)" "$(ratio "$t")" \
      "$(cell "$t" p50_ms)" "$(cell "$t" p99_ms)" "$(cell "$t" routers_cpu_us)" \
      "$( [ "$t" = direct-1 ] && echo - || cell "$t" haproxy_cpu_us)"
  done
  echo
  echo "A publish (\`POST /api/sit/publish\` of one new route) answered, with all three routers reloaded from the order service, in $PUBLISH_MS ms."
} | tee "$OUT/table.md"
cp "$RESULTS" "$OUT/results.tsv"
[ "$FAILED" = 0 ] || { log "$FAILED requests failed"; exit 1; }
