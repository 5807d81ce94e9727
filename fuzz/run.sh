#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ (cargo-afl, stable toolchain):
#
#   bash fuzz/run.sh [--seconds N] [TARGET ...]      # default: 60 s each, every target
#
# Targets (fuzz/src/lib.rs): sniff (the router's SOAP sniff; its fast scanner must answer as
# quick-xml's full read does), validate (the mocks' contract validator), order (order parsing,
# validation, execution and publishing on the default SIT TAK; a refused order leaves nothing
# pending, an accepted one exports and imports to the same TAK), journal (the journal reader).
# Each starts from fuzz/corpus/<target>/ and runs for N seconds; findings go to
# target/fuzz/<target>/. A crash or hang fails the run and is copied to
# fuzz/regressions/<target>/, where tests/fuzz_regressions.rs (part of `cargo test`) replays
# it: commit it with the fix.
#
# Installs cargo-afl and builds AFL++ for this toolchain when missing (a few minutes, once).
set -euo pipefail
cd "$(dirname "$0")"
FUZZ=$PWD
SECONDS_EACH=60
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    sniff|validate|order|journal) TARGETS+=("$1"); shift ;;
    *) echo "unknown argument: $1 (targets: sniff validate order journal; see --help)" >&2; exit 2 ;;
  esac
done
case "$SECONDS_EACH" in ''|*[!0-9]*) echo "--seconds takes a whole number" >&2; exit 2 ;; esac
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sniff validate order journal)

log() { printf '[fuzz] %s\n' "$*" >&2; }

if ! cargo afl --version >/dev/null 2>&1; then
  log "installing cargo-afl"
  cargo install cargo-afl --locked --quiet
fi
# AFL++ itself, built once per toolchain ("already built" is not an error here).
if ! out=$(cargo afl config --build 2>&1); then
  case "$out" in
    *"already built"*) ;;
    *) echo "$out" >&2; log "building AFL++ failed"; exit 1 ;;
  esac
fi

log "building the targets (AFL++ instrumentation)"
CARGO_TARGET_DIR=$FUZZ/../target/fuzz-build cargo afl build --release --quiet
BIN=$FUZZ/../target/fuzz-build/release

# A container or CI runner rarely has the core pattern and CPU governor AFL++ wants; neither
# matters for finding crashes.
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_QUIET=1
export AFL_NO_AFFINITY=1 AFL_FORKSRV_INIT_TMOUT=10000

failed=0
for t in "${TARGETS[@]}"; do
  out=$FUZZ/../target/fuzz/$t
  rm -rf "$out"; mkdir -p "$out"
  log "$t: ${SECONDS_EACH} s from $(find "$FUZZ/corpus/$t" -type f | wc -l) corpus input(s)"
  # -V: stop after that many seconds; -t: a hang is an input taking over 2 s.
  cargo afl fuzz -V "$SECONDS_EACH" -t 2000 -m none -i "$FUZZ/corpus/$t" -o "$out" "$BIN/$t" >"$out/afl.log" 2>&1 || {
    log "$t: afl-fuzz failed:"; tail -20 "$out/afl.log" >&2; failed=1; continue; }
  stats=$out/default/fuzzer_stats
  execs=$(awk -F': *' '$1 ~ /^execs_done/ {print $2}' "$stats" 2>/dev/null || echo '?')
  paths=$(awk -F': *' '$1 ~ /^corpus_count/ {print $2}' "$stats" 2>/dev/null || echo '?')
  found=0
  for kind in crashes hangs; do
    for f in "$out/default/$kind"/id:*; do
      [ -e "$f" ] || continue
      found=$((found + 1))
      name="$kind-$(sha1sum "$f" | cut -c1-16)"
      cp "$f" "$FUZZ/regressions/$t/$name"
      log "$t: $kind: fuzz/regressions/$t/$name"
    done
  done
  log "$t: $execs executions, $paths inputs in the queue, $found crash(es) or hang(s)"
  [ "$found" = 0 ] || failed=1
done
if [ "$failed" != 0 ]; then
  log "FAILED: replay with 'cargo test --test fuzz_regressions', fix, and commit the inputs in fuzz/regressions/"
  exit 1
fi
