#!/usr/bin/env bash
# The main job: installs what is missing, builds the `fuzz` preset (clang,
# ASan + UBSan, libFuzzer) and fuzzes every target from the shipped corpus
# for a bounded time, then prints one line per target: execs/s, corpus size,
# findings, and for each finding the command that replays it.
#   scripts/fuzz.sh [--seconds N] [--target NAME] [--jobs N]
#     --seconds N  total fuzzing time, split across targets (default 60)
#     --target T   fuzz only target T
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --target) only="${2:?--target needs a name}"; shift 2 ;;
    *) echo "fuzz.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number" >&2; exit 2 ;; esac
scripts/install-deps.sh
cmake --preset fuzz >/dev/null
targets=()
for dir in corpus/*/; do
  name="$(basename "$dir")_fuzzer"
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  targets+=("$name")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz target named '$only'" >&2; exit 2; }
cmake --build --preset fuzz -j "$(nproc)" --target wdfsim "${targets[@]}" >/dev/null
# A target's binary and its .dict: fuzz/ for the core's targets, examples/
# for the example drivers'.
dir_of() { if [ -f "fuzz/$1.cc" ]; then echo fuzz; else echo examples; fi; }
per_target=$(( seconds / ${#targets[@]} ))
[ "$per_target" -ge 1 ] || per_target=1
out=build/fuzz/runs
status=0
for t in "${targets[@]}"; do
  area="${t%_fuzzer}"
  corpus="$out/$t/corpus"
  artifacts="$out/$t/artifacts"
  mkdir -p "$corpus" "$artifacts"
  log="$out/$t/fuzz.log"
  set +e
  dict=()
  d=$(dir_of "$t")
  [ -f "$d/$t.dict" ] && dict=(-dict="$d/$t.dict")
  "build/fuzz/$d/$t" -max_total_time="$per_target" -print_final_stats=1 -timeout=5 -max_len=1024 \
    "${dict[@]}" -artifact_prefix="$artifacts/" "$corpus" "corpus/$area/seeds" "corpus/$area/regressions" \
    >"$log" 2>&1
  set -e
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  findings=$(find "$artifacts" -type f | wc -l)
  size=$(find "$corpus" -type f | wc -l)
  echo "$t: ${execs:-0} execs/s, corpus $size inputs, $findings findings (log: $log)"
  for f in $(find "$artifacts" -type f | sort); do
    if [ "$area" = request_lifecycle ] || [ "$area" = io_target ]; then
      echo "  replay: build/fuzz/$d/$t $f   (or: build/fuzz/tools/wdfsim replay --check --target=$area $f)"
    else
      echo "  replay: build/fuzz/$d/$t $f"
    fi
    status=1
  done
done
exit $status
