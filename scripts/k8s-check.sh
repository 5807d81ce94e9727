#!/usr/bin/env bash
# Checks the deployment files without a cluster or a container runtime (run by .ci/run):
#
# - every manifest in deploy/kubernetes/ against the Kubernetes API's schemas, strictly
#   (unknown fields, wrong types, unknown kinds fail), with the PyPI package
#   kubernetes-validate (schemas bundled: no network at check time), installed in a venv
#   under target/tmp/ the first time;
# - kustomization.yaml lists exactly those manifests, and where kubectl is installed, what
#   `kubectl kustomize` renders from them validates too;
# - compose.yaml and compose.cluster.yaml are YAML whose services name images or builds,
#   and whose depends_on and volumes name services and volumes the file defines;
# - deploy/compose/haproxy.cfg with `haproxy -c` (Debian's haproxy, installed when run as
#   root; else "haproxy check skipped:" and why).
#
# First it shows that the validator catches what it must: broken manifests written to a temp
# dir (a wrong type, an unknown field, an unknown kind, YAML that does not parse) must each
# fail, and a good one pass; `--self-test` runs only that. What the files say (the settings,
# the ports, the names) is checked by tests/deploy.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.37.0
venv=target/tmp/kubernetes-validate-$version
if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
  echo "installing kubernetes-validate $version (PyPI) in $venv ..."
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 has venv in a package of its own.
    rm -rf "$venv"
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$version"
fi
python=$venv/bin/python

# Validates manifests; fails on an error and on a warning (kubernetes-validate only warns
# about a kind it has no schema for, e.g. a typo in `kind`).
validate() {
  local out
  out=$("$venv/bin/kubernetes-validate" --strict --quiet "$@" 2>&1) || {
    echo "$out"
    return 1
  }
  if [[ -n "$out" ]]; then
    echo "$out"
    return 1
  fi
}

self_test() {
  local t
  t=$(mktemp -d)
  cat >"$t/good.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: good
spec:
  ports:
    - port: 24000
YAML
  sed 's/port: 24000/port: "admin-port"/' "$t/good.yaml" >"$t/wrong-type.yaml"
  sed 's/  ports:/  portz:/' "$t/good.yaml" >"$t/unknown-field.yaml"
  sed 's/kind: Service/kind: Servic/' "$t/good.yaml" >"$t/unknown-kind.yaml"
  sed 's/    - port: 24000/    - [port: 24000/' "$t/good.yaml" >"$t/not-yaml.yaml"
  validate "$t/good.yaml" >/dev/null || { echo "k8s check self-test FAILED: a valid Service was refused"; exit 1; }
  for bad in wrong-type unknown-field unknown-kind not-yaml; do
    if validate "$t/$bad.yaml" >/dev/null 2>&1; then
      echo "k8s check self-test FAILED: $bad.yaml passed the validator"
      exit 1
    fi
  done
  rm -rf "$t"
  echo "k8s check self-test passed: a wrong type, an unknown field, an unknown kind and broken YAML each fail"
}

self_test
[[ "${1:-}" == "--self-test" ]] && exit 0

manifests=()
for f in deploy/kubernetes/*.yaml; do
  [[ "$(basename "$f")" == kustomization.yaml ]] || manifests+=("$f")
done
validate "${manifests[@]}" || { echo "k8s check FAILED: deploy/kubernetes (above)"; exit 1; }

"$python" - "${manifests[@]}" <<'PY' || exit 1
import os, sys, yaml

listed = yaml.safe_load(open("deploy/kubernetes/kustomization.yaml"))["resources"]
present = sorted(os.path.basename(f) for f in sys.argv[1:])
if sorted(listed) != present:
    sys.exit(f"k8s check FAILED: kustomization.yaml lists {sorted(listed)}, the folder has {present}")

for name in ["compose.yaml", "compose.cluster.yaml"]:
    doc = yaml.safe_load(open(name))
    services, volumes = doc["services"], doc.get("volumes") or {}
    for s, spec in services.items():
        if "image" not in spec and "build" not in spec:
            sys.exit(f"k8s check FAILED: {name}: service {s} has neither image nor build")
        for d in spec.get("depends_on") or []:
            if d not in services:
                sys.exit(f"k8s check FAILED: {name}: {s} depends on {d}, which is no service")
        for v in spec.get("volumes") or []:
            source = v.split(":")[0]
            if not source.startswith((".", "/")) and source not in volumes:
                sys.exit(f"k8s check FAILED: {name}: {s} mounts volume {source}, which is not declared")
PY

if command -v kubectl >/dev/null 2>&1; then
  rendered=$(mktemp --suffix=.yaml)
  kubectl kustomize deploy/kubernetes >"$rendered"
  validate "$rendered" || { echo "k8s check FAILED: kubectl kustomize deploy/kubernetes (above)"; exit 1; }
  rm -f "$rendered"
  kustomize="kubectl kustomize's output validates"
else
  kustomize="kustomize render skipped: no kubectl"
fi

if ! command -v haproxy >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; } >/dev/null 2>&1 || true
fi
if command -v haproxy >/dev/null 2>&1; then
  # The routers' names resolve only inside compose's network: haproxy starts those servers
  # disabled here (init-addr none) and warns; anything else wrong is an error.
  out=$(haproxy -c -f deploy/compose/haproxy.cfg 2>&1) || {
    echo "$out"
    echo "k8s check FAILED: deploy/compose/haproxy.cfg (above)"
    exit 1
  }
  haproxy="haproxy -c passes"
else
  echo "haproxy check skipped: haproxy is not installed (as root: apt-get install haproxy)"
  haproxy="haproxy skipped"
fi

echo "k8s check passed: ${#manifests[@]} manifests valid against the Kubernetes API's schemas (kubernetes-validate $version, strict), kustomization.yaml lists them, $kustomize; compose.yaml and compose.cluster.yaml parse; $haproxy"
