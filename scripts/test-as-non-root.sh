#!/bin/bash
# Runs the README's test command (`cargo test`) as a fresh non-root user, as the non-root
# Jenkins and GitLab runners our users have would: on a copy of this checkout's HEAD, with the
# system packages the tests name already installed, and with Python modules installed by the
# tests themselves into a virtual environment under target/ (no root needed).
#
#   sudo bash scripts/test-as-non-root.sh [--user NAME] [--keep]
#
# Needs root to create the user. It lets the user read root's Rust toolchain (o+x on /root
# and read access below it, restored afterwards) and copies target/debug to save a rebuild.
# Without --keep the user and its home are removed at the end. Exit status: cargo test's.
set -euo pipefail
USER_NAME=ntjptest
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --user) USER_NAME=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root: it creates the user $USER_NAME" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
CARGO_BIN=$(dirname "$(command -v cargo)")
RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
HOME_DIR=$(getent passwd "$USER_NAME" | cut -d: -f6)
ROOT_MODE=$(stat -c %a /root)
cleanup() {
  chmod "$ROOT_MODE" /root
  if [ "$KEEP" = 0 ]; then userdel -r "$USER_NAME" 2>/dev/null || true; fi
}
trap cleanup EXIT

rm -rf "$HOME_DIR/ntjp" && mkdir -p "$HOME_DIR/ntjp/target"
git -C "$REPO" archive HEAD | tar -x -C "$HOME_DIR/ntjp"
if [ -d "$REPO/target/debug" ]; then
  cp -a "$REPO/target/debug" "$HOME_DIR/ntjp/target/"
  rm -rf "$HOME_DIR/ntjp/target/debug/incremental"
fi
chown -R "$USER_NAME": "$HOME_DIR/ntjp"
chmod o+x /root

echo "running cargo test as $USER_NAME (uid $(id -u "$USER_NAME")) on $(git -C "$REPO" rev-parse --short HEAD)"
su - "$USER_NAME" -c "export PATH=$CARGO_BIN:/usr/local/bin:/usr/bin:/bin RUSTUP_HOME=$RUSTUP_HOME CARGO_HOME=$CARGO_HOME; cd ~/ntjp && cargo test"
