#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh here the way OSS-Fuzz would, with the same
# environment variables (clang, ASan + UBSan, libFuzzer, but libstdc++ and the
# Debian dependencies), so the build contract is exercised without Docker.
#   scripts/oss-fuzz-local.sh   -> targets, dictionaries, options and seed zips in build/oss-fuzz/out
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
command -v zip >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq zip >/dev/null; }
root=$(pwd)/build/oss-fuzz
mkdir -p "$root/out" "$root/work"
export SRC=$root/src OUT=$root/out WORK=$root/work
mkdir -p "$SRC" && ln -sfn "$(pwd)" "$SRC/wdfsim"
export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer
flags="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
-fsanitize=address,undefined -fsanitize-address-use-after-scope -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
export CFLAGS="$flags" CXXFLAGS="$flags"
bash .clusterfuzzlite/build.sh
ls -1 "$OUT"
