#!/usr/bin/env bash
# Makes the PKI every node of a Kubernetes testbed shares (deploy/kubernetes mounts it from
# the Secret ntjp-pki), once, on the developer's machine:
#
#   bash scripts/k8s-pki.sh [DIR [NTJP]]     (DIR default: .ntjp-k8s-pki)
#   kubectl create secret generic ntjp-pki --from-file=DIR
#
# `ntjp certs init` with DIR as pki.dir and the hosts of NTJP_PKI__EXTRA_SANS in
# deploy/kubernetes/configmap.yaml (read from there, so the certificate and the nodes'
# setting cannot differ: a node whose list names a host the mounted certificate lacks would
# have to reissue it into the read-only Secret). Run again on the same DIR it keeps the CA and
# every certificate, reissuing the platform certificate only when the ConfigMap names a host
# it lacks (then replace the Secret).
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

NTJP_PKI__DIR="$dir" NTJP_PKI__EXTRA_SANS="$sans" "$ntjp" certs init >/dev/null
echo "PKI in $dir: the platform certificate names localhost, 127.0.0.1 and $sans."
echo "Store it in the namespace the testbed runs in:"
echo "  kubectl create secret generic ntjp-pki --from-file=$dir"
