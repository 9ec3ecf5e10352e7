#!/usr/bin/env bash
# The test command: installs what is missing, builds the g++ `dev` preset
# (warnings are errors) and runs ctest; then builds the clang `fuzz` preset
# (ASan + UBSan + libFuzzer) and runs ctest there too, which adds a short
# deterministic libFuzzer run of each target from the shipped corpus.
#   scripts/test.sh [--dev-only]
set -euo pipefail
cd "$(dirname "$0")/.."
dev_only=0
for arg in "$@"; do
  case "$arg" in
    --dev-only) dev_only=1 ;;
    *) echo "test.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh
export RC_PARAMS=""  # a stale reproduce= would make RapidCheck check nothing
jobs=$(nproc)
presets=(dev)
[ $dev_only -eq 1 ] || presets+=(fuzz)
for preset in "${presets[@]}"; do
  echo "== preset $preset"
  cmake --preset "$preset" -DWDFSIM_WERROR=ON >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
done
