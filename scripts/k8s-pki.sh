#!/usr/bin/env bash
# Makes the PKI every node of a Kubernetes testbed shares (deploy/kubernetes mounts it from
# the Secret ntjp-pki), once, on the developer's machine:
#
#   bash scripts/k8s-pki.sh [DIR [NTJP]]     (DIR default: .ntjp-k8s-pki)
#   kubectl create secret generic ntjp-pki --from-file=DIR
#
# It starts `ntjp serve` on ephemeral loopback ports with DIR as its PKI directory, waits for
# endpoints.json (written once the PKI is), and stops it: the CA, the platform certificate
# naming the hosts of NTJP_PKI__EXTRA_SANS in deploy/kubernetes/configmap.yaml (read from
# there, so the two cannot differ), the routers' client certificates, the consumers'
# certificates and their .p12 files. Run again on the same DIR it keeps the CA and every
# certificate, reissuing the platform certificate only when the ConfigMap names a host it
# lacks (then update the Secret). No command makes the PKI without serving yet, hence the
# short start.
#
# NTJP is the ntjp binary to run; by default `cargo build --bin ntjp` builds one.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-.ntjp-k8s-pki}
configmap="$repo/deploy/kubernetes/configmap.yaml"

sans=$(sed -n "s/^  NTJP_PKI__EXTRA_SANS: '\(.*\)'\$/\1/p" "$configmap")
[[ -n "$sans" ]] || { echo "k8s-pki: no NTJP_PKI__EXTRA_SANS line in $configmap" >&2; exit 2; }

if [[ -n "${2:-}" ]]; then
  ntjp=$2
else
  (cd "$repo" && cargo build --quiet --bin ntjp)
  ntjp="$repo/target/debug/ntjp"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
state=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$state"
}
trap cleanup EXIT
# serve keeps its PKI in <state-dir>/pki: that is DIR itself.
ln -s "$dir" "$state/pki"

NTJP_PKI__EXTRA_SANS="$sans" "$ntjp" serve --ephemeral-ports --state-dir "$state" \
  >"$state/serve.log" 2>&1 &
pid=$!
deadline=$((SECONDS + 120))
until [[ -s "$state/endpoints.json" ]]; do
  if ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; then
    tail -n 20 "$state/serve.log" >&2
    echo "k8s-pki: ntjp serve did not write its endpoints.json within 120 s (log above)" >&2
    exit 1
  fi
  sleep 0.2
done
kill -TERM "$pid"
wait "$pid" || true
pid=

echo "PKI in $dir: the platform certificate names localhost, 127.0.0.1 and $sans."
echo "Store it in the namespace the testbed runs in:"
echo "  kubectl create secret generic ntjp-pki --from-file=$dir"
