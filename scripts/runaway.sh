#!/usr/bin/env bash
# Measures how long `harness grade` takes over a submission whose seeds deadlock (issue 19,
# item 2): the reference raft with its applier changed to hold the peer's lock while it sends
# on the apply channel, as students write it (`futures::executor::block_on` of the send, under
# the lock). Every grader that applies a command deadlocks on every seed; with the runaway cap
# (--max-runaway, default 3) each such grader stops after a few seeds instead of waiting out
# the watchdog on all of them.
#
# Usage: scripts/runaway.sh [RUNS] [EXTRA GRADE FLAGS...]   (RUNS default 100)
# The grading target folder is $HARNESS_GRADE_TARGET_DIR, else target/tmp/grade-target (the
# one harness-cli's tests use): keep it, so that dependencies are built once. The figure is the
# wall time of the whole grade, build included; the build alone is printed by the grade.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100}"
shift || true
kit="$PWD"
work="$(mktemp -d /tmp/runaway.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export HARNESS_GRADE_TARGET_DIR="${HARNESS_GRADE_TARGET_DIR:-$kit/target/tmp/grade-target}"

mkdir -p "$work/repo"
cp -r "$kit/raft" "$work/repo/raft"
rm -rf "$work/repo/raft/target"
python3 - "$work/repo/raft/src/applier.rs" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """            let next = {
                let st = self.state.lock();
                if self.killed() {
                    return;
                }
                st.next_to_apply().map(|msg| (msg, st.term))
            };"""
new = """            // Planted: the lock is held while the message is sent.
            {
                let mut st = self.state.lock();
                if let Some(msg) = st.next_to_apply() {
                    let record = msg.clone();
                    let _ = futures::executor::block_on(self.apply_tx.send(msg));
                    st.applied(&record);
                    continue;
                }
            }
            let next = {
                let st = self.state.lock();
                if self.killed() {
                    return;
                }
                st.next_to_apply().map(|msg| (msg, st.term))
            };"""
if old not in text:
    sys.exit("the reference applier changed: update scripts/runaway.sh")
open(path, "w").write(text.replace(old, new, 1))
PY

cargo build -q -p harness-cli
start=$(date +%s.%N)
set +e
"$kit/target/debug/harness" grade "$work/repo" all --runs "$runs" --no-lint \
  --out "$work/out" "$@" >"$work/stdout" 2>"$work/stderr"
code=$?
set -e
end=$(date +%s.%N)
grep -E "^(graded in|score)" "$work/stdout" || true
python3 - "$work/out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for t in r["tests"]:
    e = t["extra_data"]
    if e.get("lint"):
        continue
    seeds = e.get("failing_seeds", [])
    not_run = sum(1 for s in seeds if s["error"].startswith("not run"))
    ran_away = sum(1 for s in seeds if not s["error"].startswith("not run"))
    print(f'{e["grader"]:28} passed {e["passed"]:4}  failed {e["failed"]:4}  (not run {not_run})')
PY
awk -v a="$start" -v b="$end" -v c="$code" -v n="$runs" \
  'BEGIN { printf "grade all --runs %s of the lock-while-sending submission: %.1f s wall (exit %s)\n", n, b - a, c }'
