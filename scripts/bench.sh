#!/usr/bin/env bash
# Fuzzing throughput: each fuzz target's execs/s beside the empty target built
# with the same flags, measured in the same run (single process, fixed seed,
# same max_len), and their ratio. Figures, not a pass/fail gate.
#   scripts/bench.sh [--seconds N]   (default 20 per target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    *) echo "bench.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh
cmake --preset fuzz >/dev/null
targets=()
for dir in corpus/*/; do targets+=("$(basename "$dir")_fuzzer"); done
cmake --build --preset fuzz -j "$(nproc)" --target empty_fuzzer "${targets[@]}" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {  # name corpus-args... -> execs/s
  local name=$1; shift
  local dir=examples
  [ -f "fuzz/$name.cc" ] && dir=fuzz
  mkdir -p "$work/$name"
  "build/fuzz/$dir/$name" -seed=1 -max_total_time="$seconds" -max_len=1024 -print_final_stats=1 \
    "$work/$name" "$@" 2>&1 | sed -n 's/^stat::average_exec_per_sec: *//p' | tail -1
}
empty=$(run empty_fuzzer)
echo "empty_fuzzer: $empty execs/s"
for t in "${targets[@]}"; do
  area="${t%_fuzzer}"
  execs=$(run "$t" "corpus/$area/seeds")
  ratio=$(awk -v a="$execs" -v b="$empty" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
  echo "$t: $execs execs/s, ratio to empty target $ratio"
done
