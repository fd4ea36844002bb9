#!/usr/bin/env bash
# Instructions per simulated RPC, per part, with the safety monitor off and on: the graders
# bench (harness/benches/graders.rs) run under valgrind's callgrind, which counts instructions
# instead of timing them, so the figures do not move with the load of a shared machine.
#
#   scripts/bench-instructions.sh                 # the bench binary cargo builds now
#   scripts/bench-instructions.sh path/to/graders # another build of it, e.g. kept from before a change
#
# The bench runs a part's graders over its seeds with the monitor off, then on; callgrind dumps
# its counts as each pass starts (--dump-before), so the second dump is the pass without the
# monitor and the final one the pass with it. Seeds per part are few (callgrind is ~50x slower):
# A 10, B 4, C 1, D 4. Needs valgrind.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [[ -z "$bin" ]]; then
  bin=$(cd "$root" && cargo bench -p harness --bench graders --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*graders[^"]*\)".*/\1/p' | tail -1)
fi
if [[ ! -x "$bin" ]]; then
  echo "no bench binary at '$bin'" >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-5s %6s %10s %14s %14s %9s\n' part seeds RPCs/seed "Ir/RPC off" "Ir/RPC on" monitor
for spec in "A 10" "B 4" "C 1" "D 4"; do
  read -r part seeds <<<"$spec"
  line=$(valgrind --tool=callgrind --dump-before='graders::pass' \
    --callgrind-out-file="$out/$part.cg" "$bin" "$part" --seeds "$seeds" 2>/dev/null | grep "^$part ")
  rpcs=$(awk '{print $7}' <<<"$line")
  total() { grep -m1 '^summary:' "$1" | awk '{print $2}'; }
  off=$(total "$out/$part.cg.2")
  on=$(total "$out/$part.cg")
  awk -v p="$part" -v s="$seeds" -v r="$rpcs" -v off="$off" -v on="$on" 'BEGIN {
    n = r * s
    printf "%-5s %6d %10d %14.0f %14.0f %8.1f%%\n", p, s, r, off / n, on / n, (on / off - 1) * 100
  }'
done
