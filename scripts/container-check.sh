#!/usr/bin/env bash
# Builds the container image (Dockerfile) with podman, runs it with its state on a fresh
# volume, waits for /health/ready, copies the certificates out of the volume and calls the
# SIT router in it with the README's curl example (the "Call it" block, run as printed but
# for the port and the certificate directory). Run from anywhere: `bash scripts/container-check.sh`.
#
# Where this machine cannot do that, the script says why on one line starting with
# "container check skipped:" and exits 0 (the README's "Container" section has the manual
# check): podman missing and not installable (it installs Debian's podman when run as root),
# no registry reachable for the base images (docker.io), or containers that cannot run here
# (e.g. a sandbox refusing crun's setrlimit). Anything failing after that fails the script.
#
# The image build compiles the crate in release inside the container: many minutes on 2
# cores the first time. podman keeps the build's cargo caches (RUN --mount=type=cache), so a
# second build recompiles only the crate itself. `--format docker` keeps the HEALTHCHECK (OCI
# images have none). NTJP_CONTAINER_CHECK=skip skips it all.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "container check skipped: $*"
  echo "  (README.md, \"Container\", has the manual check)"
  exit 0
}

if [[ "${NTJP_CONTAINER_CHECK:-}" == "skip" ]]; then
  skip "NTJP_CONTAINER_CHECK=skip"
fi

base_images=(docker.io/library/rust:1-slim-bookworm docker.io/library/debian:bookworm-slim)

if ! command -v podman >/dev/null 2>&1; then
  # Installing podman is pointless if the base images cannot be pulled: ask the registry
  # first (it answers 401 to an anonymous ping when reachable).
  if command -v curl >/dev/null 2>&1 &&
    ! curl -s -o /dev/null -m 15 https://registry-1.docker.io/v2/; then
    skip "docker.io (registry-1.docker.io) is not reachable from this machine, so the base images cannot be pulled; podman is not installed either"
  fi
  if [[ "$(id -u)" != 0 ]]; then
    skip "podman is not installed (as root: apt-get install podman)"
  fi
  echo "installing podman (apt-get install podman) ..."
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman; } >/dev/null; then
    skip "podman could not be installed with apt-get"
  fi
fi

if ! info=$(podman info 2>&1); then
  skip "podman does not work here: $(tail -n 1 <<<"$info")"
fi

for image in "${base_images[@]}"; do
  if ! out=$(timeout 600 podman pull -q "$image" 2>&1); then
    skip "cannot pull $image (is docker.io reachable from this machine?): $(tail -n 1 <<<"$out")"
  fi
done

if ! out=$(podman run --rm docker.io/library/debian:bookworm-slim true 2>&1); then
  skip "podman cannot run a container on this machine: $(tail -n 1 <<<"$out")"
fi

tag=localhost/ntjp-testbed:check
name=ntjp-check-$$
volume=ntjp-check-$$
work=$(mktemp -d)
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

started=$(date +%s)
echo "building $tag (release build inside the container; the first one takes many minutes) ..."
podman build --format docker -t "$tag" . >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log"
  echo "container check FAILED: podman build (log above)"
  exit 1
}
built=$(date +%s)
echo "built in $((built - started)) s; image size: $(podman image inspect --format '{{.Size}}' "$tag") bytes"

# Every port published on a free loopback port of the host.
podman run -d --name "$name" -v "$volume:/var/lib/ntjp" \
  -p 127.0.0.1::20000 -p 127.0.0.1::24000 "$tag" >/dev/null
host_port() { podman port "$name" "$1/tcp" | head -n 1 | sed 's/.*://'; }
router=$(host_port 20000)
admin=$(host_port 24000)

deadline=$(($(date +%s) + 120))
until curl -sf -o /dev/null "http://127.0.0.1:$admin/health/ready"; do
  if (($(date +%s) > deadline)) || [[ "$(podman inspect -f '{{.State.Running}}' "$name")" != true ]]; then
    podman logs "$name" 2>&1 | tail -n 40
    echo "container check FAILED: not ready on http://127.0.0.1:$admin/health/ready within 120 s"
    exit 1
  fi
  sleep 1
done
echo "ready: admin http://127.0.0.1:$admin, SIT router https://localhost:$router"

# The certificates the testbed generated on its volume, as a user copies them out.
podman cp "$name:/var/lib/ntjp/pki" "$work/pki"

# The README's curl example, as printed, with the published port and the copied certificates.
example=$(awk '/<!-- curl-example -->/{found=1; next} found && /^```sh/{inside=1; next} inside && /^```/{exit} inside{print}' README.md)
[[ -n "$example" ]] || { echo "container check FAILED: no curl example in README.md"; exit 1; }
example=${example//.ntjp\/pki\//$work/pki/}
example=${example//localhost:20000/localhost:$router}
answer=$(bash -c "$example")
if ! grep -q '<[^>]*resultCode>OK</' <<<"$answer"; then
  echo "$answer"
  echo "container check FAILED: the README's curl example did not get resultCode OK"
  exit 1
fi
# The container's healthcheck (the image's HEALTHCHECK) passes too.
podman healthcheck run "$name" >/dev/null || {
  echo "container check FAILED: the image's HEALTHCHECK does not pass"
  exit 1
}
echo "container check passed: the README's curl example answered resultCode OK through the container ($(($(date +%s) - started)) s in all)"
