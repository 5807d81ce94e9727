#!/usr/bin/env bash
# Memory of the testbed around large requests through the router to a mock producer:
#
#   bash benches/large-request-memory.sh [--requests N] [--mib SIZE]
#
# Starts `ntjp serve` (release build, a fresh state directory, ephemeral ports), sends N
# requests of SIZE MiB (default 3 x 14.5 MiB: the contract's fixture grown with elements after
# its first body child) over mutual TLS to the SIT router for county 18, and prints the
# process's resident memory (VmRSS, VmHWM from /proc) idle, right after, 15 s later, what the
# mock recorder says it holds, and 15 s after clearing the recordings. The recorder keeps what
# it records (bounded by [mock_producers] max_recording_bytes, default 256 MiB); everything
# else a request used must be returned. Then 40 clients each declare a 15 MiB body on the
# plain-HTTP listener and send 100 bytes of it: memory is taken as data arrives, never from a
# declared length, so the script fails if resident memory rises by more than 64 MB while they
# wait (it once rose by 600 MB). Needs only the Rust toolchain and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=3
MIB=14.5
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
cargo build --release --quiet
NTJP=$PWD/target/release/ntjp

WORK=$(mktemp -d /tmp/large-request-memory.XXXXXX)
"$NTJP" serve --ephemeral-ports --state-dir "$WORK/state" >"$WORK/out" 2>"$WORK/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do [ -s "$WORK/state/endpoints.json" ] && break; sleep 0.1; done
[ -s "$WORK/state/endpoints.json" ] || { echo "ntjp serve did not start:" >&2; cat "$WORK/log" >&2; exit 1; }
ep() { # KEY [ENV]: a value from endpoints.json
  awk -v key="\"$1\"" -v env="${2:-}" '
    env != "" && $1 == "\"" env "\":" { inside = 1 }
    (env == "" || inside) && $1 == key ":" { v = $2; gsub(/[",]/, "", v); print v; exit }' "$WORK/state/endpoints.json"
}
ROUTER=$(ep router_https sit)
ADMIN=$(ep admin)
PKI=$WORK/state/pki

FIXTURE=fixtures/messages/valid/exclusion-with-earlier-sample.xml
MARKER='</ns2:ProcessCervixScreeningInformation>'
grep -q "$MARKER" "$FIXTURE" || { echo "$FIXTURE lacks $MARKER" >&2; exit 1; }
awk -v marker="$MARKER" -v bytes="$(awk -v m="$MIB" 'BEGIN { printf "%d", m * 1048576 }')" '
  { text = text $0 "\n" }
  END {
    at = index(text, marker)
    fill = "<ns2:padding>0123456789abcdef0123456789abcdef0123456789abcdef0123456789</ns2:padding>\n"
    n = int((bytes - length(text)) / length(fill))
    printf "%s", substr(text, 1, at - 1)
    for (i = 0; i < n; i++) printf "%s", fill
    printf "%s", substr(text, at)
  }' "$FIXTURE" >"$WORK/big.xml"

mem() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f MB resident (peak %.1f MB)", r / 1024, h / 1024 }' "/proc/$PID/status"; }
recorded() { curl -s "$ADMIN/api/mocks" | grep -o '"recorded_bytes": *[0-9]*' | awk '{ printf "%.1f MB", $2 / 1e6 }'; }

echo "body: $(wc -c <"$WORK/big.xml") bytes, $REQUESTS request(s) to $ROUTER (county 18's mock)"
sleep 2
echo "idle:                     $(mem)"
for _ in $(seq 1 "$REQUESTS"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" --cert "$PKI/consumer.pem" --key "$PKI/consumer-key.pem" \
    -H 'Content-Type: text/xml; charset=UTF-8' \
    -H 'SOAPAction: "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1:ProcessCervixScreeningInformation"' \
    --data-binary @"$WORK/big.xml" "$ROUTER/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21")
  [ "$code" = 200 ] || { echo "the router answered HTTP $code" >&2; exit 1; }
done
echo "after the requests:       $(mem); the recorder holds $(recorded)"
sleep 15
echo "15 s later:               $(mem)"
curl -s -X DELETE "$ADMIN/api/mocks/messages" >/dev/null
sleep 15
echo "recordings cleared, 15 s: $(mem); the recorder holds $(recorded)"

# 40 clients declaring 15 MiB and sending 100 bytes, held open.
HTTP=$(ep router_http sit)
HOSTPORT=${HTTP#http://}; HOSTPORT=${HOSTPORT%%/*}
SENDER=$(ep consumer_hsa_id)
INSTANCE=$(ep instance_id sit)
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
before=$(rss_kb)
CLIENTS=()
for _ in $(seq 1 40); do
  (
    exec 3<>"/dev/tcp/${HOSTPORT%:*}/${HOSTPORT##*:}"
    printf 'POST /vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21 HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nx-vp-sender-id: %s\r\nx-vp-instance-id: %s\r\nContent-Length: 15728640\r\n\r\n%0100d' \
      "$HOSTPORT" "$SENDER" "$INSTANCE" 0 >&3
    sleep 30
  ) &
  CLIENTS+=($!)
done
sleep 5
after=$(rss_kb)
kill "${CLIENTS[@]}" 2>/dev/null || true
wait "${CLIENTS[@]}" 2>/dev/null || true
growth=$(( (after - before) / 1024 ))
echo "40 clients declaring 15 MiB, 100 bytes sent: $(awk -v b="$before" -v a="$after" 'BEGIN { printf "%.1f -> %.1f MB resident", b / 1024, a / 1024 }')"
if [ "$growth" -gt 64 ]; then
  echo "FAILED: resident memory rose by $growth MB while 40 clients held declared 15 MiB bodies" >&2
  exit 1
fi
