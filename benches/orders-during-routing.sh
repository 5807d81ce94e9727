#!/usr/bin/env bash
# Routing while a large order runs: router throughput (plain HTTP, wrk) in 1-second slices
# before, during and after an order of N routes and N authorisations (and its connection
# tests), /health/live latency sampled throughout, and the time from SIGTERM to exit when
# the signal comes in the middle of one more such order. Each round compares the slices
# during an order with those of the 6 s before and after it, which keeps a shared machine's
# drifting load out of the ratio.
#
#   benches/orders-during-routing.sh [ROUTES [ROUNDS]]      (default 100000 routes, 3 rounds)
#
# Needs wrk, curl and python3 (installs wrk with apt-get when missing). Builds the release
# binary. Prints per round the 1-second slices (req/s, p99, whether the order was running),
# then a summary: the ratio of median req/s during each order to around it, /health/live
# p50/max during the orders, and SIGTERM-to-exit. On a shared machine read the ratios, not
# the absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
ROUNDS=${2:-3}
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
cargo build --release -q
BIN=target/release/ntjp
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$WORK"' EXIT

start() {
  rm -f "$WORK/state/endpoints.json"
  RUST_LOG=warn "$BIN" serve --ephemeral-ports --state-dir "$WORK/state" > /dev/null 2> "$WORK/serve.log" &
  PID=$!
  until [ -s "$WORK/state/endpoints.json" ]; do sleep 0.05; done
  ADMIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$WORK/state/endpoints.json")
  HTTP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["environments"]["sit"]["router_http"])' "$WORK/state/endpoints.json")
  CONSUMER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pki"]["consumer_hsa_id"])' "$WORK/state/endpoints.json")
}

order() { # order PREFIX FILE: N routes to 3 mock producers + N authorisations, valid today
  python3 - "$1" "$N" "$CONSUMER" > "$2" << 'EOF'
import json, sys, datetime
prefix, n, consumer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ns = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1"
day = datetime.date.today().isoformat() + "T00:00:00+0000"
print(json.dumps({
  "plattform": "NTJP-TEST", "formatVersion": "1.0", "version": "1",
  "bestallningsTidpunkt": day, "genomforandeTidpunkt": day, "utforare": "bench", "kommentar": f"{n} routes",
  "inkludera": {
    "tjanstekomponenter": [{"hsaId": f"TSTNMT2321000156-{prefix}P{j}", "beskrivning": "p"} for j in range(3)],
    "logiskadresser": [{"hsaId": f"{prefix}-{i}", "beskrivning": "a"} for i in range(n)],
    "vagval": [{"adress": f"{{{{mocks}}}}/{prefix}-P{i % 3}/ProcessCervixScreeningInformation/1/rivtabp21",
                "logiskAdress": f"{prefix}-{i}", "tjanstekontrakt": ns, "rivtaprofil": "RIVTABP21",
                "tjanstekomponent": f"TSTNMT2321000156-{prefix}P{i % 3}"} for i in range(n)],
    "anropsbehorigheter": [{"logiskAdress": f"{prefix}-{i}", "tjanstekontrakt": ns, "tjanstekonsument": consumer} for i in range(n)],
  },
  "exkludera": {}}, separators=(",", ":")))
EOF
}

cat > "$WORK/post.lua" << EOF
wrk.method = "POST"
wrk.body = io.open("fixtures/requests/cervix-01.xml"):read("a")
wrk.headers["Content-Type"] = "text/xml; charset=UTF-8"
wrk.headers["x-vp-sender-id"] = "CONSUMER"
wrk.headers["x-vp-instance-id"] = "NTJP-TEST"
EOF

now() { date +%s.%N; }

start
sed -i "s/CONSUMER/$CONSUMER/" "$WORK/post.lua"
URL="$HTTP/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21"

# /health/live every 50 ms, routing in 1-second slices, both until the rounds are done.
( while [ ! -e "$WORK/stop" ]; do
    t=$(now); c=$(curl -s -o /dev/null -w '%{time_total}' "$ADMIN/health/live" || echo fail)
    echo "$t $c"; sleep 0.05
  done > "$WORK/health.txt" ) &
HEALTH=$!
( while [ ! -e "$WORK/stop" ]; do
    t=$(now); out=$(wrk -t1 -c32 -d1s --latency -s "$WORK/post.lua" "$URL")
    r=$(awk '/Requests\/sec/ {print $2}' <<< "$out"); p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
    echo "$t $(now) $r $p99"
  done > "$WORK/slices.txt" ) &
SLICES=$!

# ROUNDS orders, each between 6 s of routing alone before and after.
: > "$WORK/windows.txt"
for r in $(seq 1 "$ROUNDS"); do
  order "BENCH$r" "$WORK/order.json"
  [ "$r" = 1 ] && echo "order: $N routes + $N authorisations, $(du -h "$WORK/order.json" | cut -f1), $ROUNDS rounds"
  sleep 6
  o0=$(now)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data-binary @"$WORK/order.json" "$ADMIN/api/sit/orders")
  o1=$(now)
  # Its connection tests: until none is pending.
  until curl -s "$ADMIN/status" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["Environments"]["sit"]["ConnectionTestsPending"] != 0)'; do sleep 0.05; done
  echo "$o0 $o1 $(now) $code" >> "$WORK/windows.txt"
done
sleep 6
touch "$WORK/stop"
wait $HEALTH $SLICES

python3 - "$WORK" << 'EOF'
import sys, statistics
work = sys.argv[1]
windows = [tuple(map(float, l.split()[:3])) + (l.split()[3],) for l in open(f"{work}/windows.txt")]
slices = [(float(a), float(b), float(r), p99) for a, b, r, p99 in (l.split() for l in open(f"{work}/slices.txt"))]
health = [(float(t), c) for t, c in (l.split() for l in open(f"{work}/health.txt"))]
idle, busy, h, ratios = [], [], [], []
for o0, o1, t1, code in windows:
    print(f"order answered HTTP {code} after {o1 - o0:.2f} s; connection tests done {t1 - o1:.2f} s later")
    near, during = [], []
    for a, b, r, p99 in slices:
        if a < t1 and b > o0:
            during.append(r)
            print(f"  slice {a - o0:+7.2f} s  {r:9.0f} req/s  p99 {p99:>8}  ORDER")
        elif o0 - 6 <= a and b <= t1 + 6:
            near.append(r)
            print(f"  slice {a - o0:+7.2f} s  {r:9.0f} req/s  p99 {p99:>8}")
    if near and during:
        ratios.append(statistics.median(during) / statistics.median(near))
    idle += near; busy += during
    h += [float(c) * 1000 for t, c in health if o0 <= t <= t1 and c != "fail"]
fails = sum(1 for t, c in health if c == "fail")
print(f"router req/s, the 6 s around each order: median {statistics.median(idle):.0f} (n={len(idle)}, {min(idle):.0f}-{max(idle):.0f}); "
      f"during the orders: median {statistics.median(busy):.0f} (n={len(busy)}, {min(busy):.0f}-{max(busy):.0f})")
print(f"ratio during/around per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")
print(f"/health/live during the orders: n={len(h)} p50 {statistics.median(h):.1f} ms, max {max(h):.1f} ms; failures in the whole run: {fails}")
EOF
rm -f "$WORK/stop"

# SIGTERM in the middle of one more order.
order TERM "$WORK/order2.json"
curl -s -o /dev/null -H 'content-type: application/json' --data-binary @"$WORK/order2.json" "$ADMIN/api/sit/orders" &
until curl -s "$ADMIN/status" | grep -q '"running": true'; do sleep 0.01; done
T0=$(now)
kill -TERM "$PID"
wait "$PID" || true
T1=$(now)
python3 -c "print(f'SIGTERM to exit, mid-order: {($T1 - $T0) * 1000:.0f} ms')"
start
curl -s "$ADMIN/api/sit/versions" | python3 -c 'import json,sys; v=json.load(sys.stdin)[-1]; print("after restart: version", v["version"], v["counts"])'
kill -TERM "$PID"; wait "$PID" || true
