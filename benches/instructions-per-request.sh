#!/usr/bin/env bash
# Instructions per routed request, counted by valgrind's callgrind, for one or more builds of
# `ntjp` side by side:
#
#   bash benches/instructions-per-request.sh [--requests N] [--out DIR] [--loader BIN] [--auth-cert] LABEL=BINARY ...
#   e.g. bash benches/instructions-per-request.sh before=/tmp/ntjp-old after=target/release/ntjp
#
# Why: CPU time per request (benches/compare-nginx.sh) needs a quiet machine and still moves by
# a few percent between runs; an instruction count does not depend on what else the machine
# is doing, so two builds can be compared to within a fraction of a percent on a busy machine,
# and a regression of 5 % is found by bisecting commits rather than by repeating rounds.
# Instructions are not time (cache misses and branch mispredictions are not counted), so a
# change found here is confirmed with compare-nginx before it is claimed.
#
# Each build runs `ntjp serve` under callgrind with instrumentation off; the fixed-answer nginx
# producer of compare-nginx (benches/nginx/producer.conf.in) answers behind it. After a
# warm-up of keep-alive requests, instrumentation is switched on for --requests more (one
# connection, from `ntjp load` of --loader, default target/release/ntjp), off, and dumped. The figure is the
# process's instructions (all threads: TLS, hyper, the pipeline, the pool, the log thread)
# divided by the requests answered. The dumps stay in --out for `callgrind_annotate
# --inclusive=yes`, to see which functions the difference is in. --auth-cert calls the plain-HTTP
# listener with the consumer's certificate in x-vp-auth-cert instead, as a TLS-terminating load
# balancer does (benches/cluster-throughput.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

REQUESTS=3000
WARMUP=300
OUT=target/instructions
LOADER=target/release/ntjp
AUTH_CERT=0
BUILDS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --loader) LOADER=$2; shift 2 ;;
    --auth-cert) AUTH_CERT=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*) BUILDS+=("$1"); shift ;;
    *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#BUILDS[@]} -gt 0 ] || { echo "name at least one LABEL=BINARY (see --help)" >&2; exit 2; }

need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { echo "$1 is missing: apt-get install $2" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
}
need valgrind valgrind
need callgrind_control valgrind
need nginx nginx
NGINX=$(command -v nginx)

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "[instructions] $*" >&2; }
. benches/lib.sh   # free_port, ep, jget, route_order, start_work
start_work instructions

ADDRESS=BENCH-NGINX
CONTRACT_PATH=/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21

[ -x "$LOADER" ] || { log "the load generator $LOADER is missing: cargo build --release"; exit 1; }
LOADER=$(cd "$(dirname "$LOADER")" && pwd)/$(basename "$LOADER")
SUMMARY=$OUT/summary.tsv
printf 'label\tbinary\trequests\tinstructions\tper_request\n' >"$SUMMARY"
for build in "${BUILDS[@]}"; do
  label=${build%%=*}; bin=${build#*=}
  [ -x "$bin" ] || { log "$bin is not an executable"; exit 1; }
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  state=$WORK/state-$label; mkdir -p "$state"
  # The PKI and the order are made without valgrind, by a first start of the build itself
  # (the order is journaled, and replayed when it starts again under callgrind).
  "$bin" serve --ephemeral-ports --state-dir "$state" >/dev/null 2>"$WORK/$label-first.log" &
  pid=$!
  for i in $(seq 1 300); do [ -s "$state/endpoints.json" ] && break; sleep 0.1; done
  [ -s "$state/endpoints.json" ] || { log "$label did not start:"; tail -5 "$WORK/$label-first.log" >&2; exit 1; }
  certs=$WORK/certs-$label
  "$bin" certs issue --hsa-id TSTNMT2321000156-BENCHPROD --out "$certs" --state-dir "$state" >/dev/null
  mv "$certs/TSTNMT2321000156-BENCHPROD.pem" "$certs/producer.pem"
  mv "$certs/TSTNMT2321000156-BENCHPROD-key.pem" "$certs/producer-key.pem"
  port=$(free_port)
  sed -e "s|@WORK@|$WORK|g; s|@CERTS@|$certs|g; s|@CA@|$state/pki/ca.pem|g; s|@PRODUCER_PORT@|$port|g" \
    benches/nginx/producer.conf.in >"$WORK/producer-$label.conf"
  route_order "https://localhost:$port/producer/ProcessCervixScreeningInformation/1/rivtabp21" "$ADDRESS" benches/instructions-per-request.sh >"$WORK/order-$label.json"
  "$bin" order apply "$WORK/order-$label.json" --env sit --state-dir "$state" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$state/endpoints.json"
  "$NGINX" -e "$WORK/producer-error.log" -c "$WORK/producer-$label.conf" -g 'daemon off;' &
  producer=$!; PIDS+=("$producer")

  log "$label: ntjp serve under callgrind"
  dump=$OUT/callgrind.$label
  rm -f "$dump"*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dump" \
    "$bin" serve --ephemeral-ports --state-dir "$state" >/dev/null 2>"$WORK/$label.log" &
  router=$!; PIDS+=("$router")
  for i in $(seq 1 1200); do [ -s "$state/endpoints.json" ] && break; sleep 0.1; done
  [ -s "$state/endpoints.json" ] || { log "$label did not start under valgrind:"; tail -5 "$WORK/$label.log" >&2; exit 1; }
  url=$(ep "$state/endpoints.json" router_https sit)$CONTRACT_PATH
  load=("$LOADER" load --cacert "$state/pki/ca.pem" --cert "$state/pki/consumer.pem"
        --key "$state/pki/consumer-key.pem" --tls13 --tls-group x25519 -q --addresses "$ADDRESS" -c 1)
  if [ "$AUTH_CERT" = 1 ]; then
    load+=(--url "$(ep "$state/endpoints.json" router_http sit)$CONTRACT_PATH" --http --auth-cert)
  else
    load+=(--url "$url")
  fi
  "${load[@]}" -n "$WARMUP" --json >"$WORK/warm-$label.json"
  [ "$(jget "$WORK/warm-$label.json" 200)" = "$WARMUP" ] || { log "$label: the warm-up did not answer 200:"; cat "$WORK/warm-$label.json" >&2; exit 1; }
  callgrind_control -i on "$router" >/dev/null
  "${load[@]}" -n "$REQUESTS" --json >"$OUT/load-$label.json"
  callgrind_control -d "$router" >/dev/null
  callgrind_control -i off "$router" >/dev/null
  ok=$(jget "$OUT/load-$label.json" 200)
  [ "$ok" = "$REQUESTS" ] || { log "$label: $ok of $REQUESTS answered 200"; exit 1; }
  kill "$router"; wait "$router" 2>/dev/null || true
  kill "$producer"; wait "$producer" 2>/dev/null || true
  total=0
  # The dumps asked for (callgrind.LABEL.1 ...); the file written at exit holds the
  # difference after them, which is noise.
  for f in "$dump".[0-9]*; do
    n=$(awk '/^totals:/ { print $2; exit }' "$f")
    total=$((total + ${n:-0}))
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$bin" "$REQUESTS" "$total" $((total / REQUESTS)) >>"$SUMMARY"
  log "$label: $((total / REQUESTS)) instructions per request"
done

echo
echo "Instructions per routed request (keep-alive, one connection, $REQUESTS requests, callgrind):"
awk -F'\t' 'NR == 1 { next } NR == 2 { base = $5 }
  { printf "  %-12s %10d  %.3f× %s\n", $1, $5, $5 / base, (NR == 2 ? "(the base)" : "") }' "$SUMMARY"
echo "Dumps in $OUT (callgrind_annotate --inclusive=yes $OUT/callgrind.LABEL.*)"
