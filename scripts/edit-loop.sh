#!/usr/bin/env bash
# Measures a student's edit loop, as the README's "Build times" table reports it:
#
#   1. the first build of `cargo test -p harness` in a fresh handout (dependencies already
#      downloaded; a new target folder);
#   2. the rebuild of `cargo test -p harness` after a one-line edit in `raft`, in the handout
#      and in this repository;
#   3. the rebuild of the `raft` crate alone after that edit (what an editor's check costs);
#   4. edit -> result: the rebuild and run of `cargo test -p harness 3A` (part A's graders,
#      sim mode, on the skeleton, which fails them fast).
#
# Usage: scripts/edit-loop.sh [RUNS] [FIRST]
#   RUNS: rebuilds measured per figure (default 5); FIRST: first builds, each with a new
#   target folder (default 3).
# Run it on a quiet machine: every figure is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
firsts="${2:-3}"
kit="$PWD"
work="$(mktemp -d /tmp/edit-loop.XXXXXX)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
timed() { # timed LABEL DIR CMD...: prints the wall time of CMD run in DIR
  local dir="$2"; shift 2
  local t0; t0=$(now)
  (cd "$dir" && "$@" >/dev/null 2>&1) || { echo "failed: $*" >&2; exit 1; }
  secs "$t0" "$(now)"
}
edit() { # a one-line change of code (not a comment) in the raft crate of $1: one line, a new value
  sed -i '/_EDIT_LOOP/d' "$1/raft/src/lib.rs"
  printf 'pub(crate) const _EDIT_LOOP: u64 = %s;\n' "$RANDOM$RANDOM" >> "$1/raft/src/lib.rs"
}
range() { # min–max of the arguments
  printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s–%s s", lo, hi}'
}

echo "== writing a handout"
cargo run --release --quiet -p harness-cli -- handout --out "$work/handout" >/dev/null
(cd "$work/handout" && cargo fetch --quiet)
cp "$work/handout/raft/src/lib.rs" "$work/lib.rs.orig"

echo "== first build in the fresh handout (cargo test -p harness --no-run), $firsts times"
first_all=()
for i in $(seq "$firsts"); do
  export CARGO_TARGET_DIR="$work/target-$i"
  first_all+=("$(timed first "$work/handout" cargo test -p harness --no-run)")
  echo "   ${first_all[-1]} s"
  if [ "$i" -lt "$firsts" ]; then rm -rf "$work/target-$i"; fi
done

echo "== rebuilds after a one-line edit in raft, $runs times each"
handout_all=(); handout_raft=(); handout_3a=(); kit_all=()
# The skeleton fails the graders: the run's exit status is not the measure here.
run_3a() { (cd "$work/handout" && LAB_SEEDS=12 cargo test -p harness 3A >/dev/null 2>&1 || true); }
for _ in $(seq "$runs"); do
  edit "$work/handout"; handout_all+=("$(timed all "$work/handout" cargo test -p harness --no-run)")
  edit "$work/handout"; handout_raft+=("$(timed raft "$work/handout" cargo build -p raft)")
  edit "$work/handout"; t0=$(now); run_3a; handout_3a+=("$(secs "$t0" "$(now)")")
done
cp "$work/lib.rs.orig" "$work/handout/raft/src/lib.rs"

unset CARGO_TARGET_DIR
cp raft/src/lib.rs "$work/kit-lib.rs.orig"
trap 'cp "$work/kit-lib.rs.orig" "$kit/raft/src/lib.rs"; rm -rf "$work"' EXIT
cargo test -p harness --no-run >/dev/null 2>&1
for _ in $(seq "$runs"); do
  edit "$kit"; kit_all+=("$(timed all "$kit" cargo test -p harness --no-run)")
done
cp "$work/kit-lib.rs.orig" raft/src/lib.rs

echo
echo "| figure | time |"
echo "|---|---|"
echo "| first build of \`cargo test -p harness\` in a fresh handout | $(range "${first_all[@]}") |"
echo "| rebuild of \`cargo test -p harness\` after a one-line edit in \`raft\`, handout | $(range "${handout_all[@]}") |"
echo "| rebuild of the \`raft\` crate alone after that edit, handout | $(range "${handout_raft[@]}") |"
echo "| edit -> result: rebuild and run of \`cargo test -p harness 3A\` (12 seeds per grader, sim), handout | $(range "${handout_3a[@]}") |"
echo "| rebuild of \`cargo test -p harness\` after that edit, this repository | $(range "${kit_all[@]}") |"
