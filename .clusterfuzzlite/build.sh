#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: the fuzz logic stays in CMake; this only
# passes the environment's compilers, flags and engine, and copies the
# targets with their seed corpus, dictionary and options into $OUT.
# (Under OSS-Fuzz's libc++ the Debian absl must be replaced by one built from
# source with $CXXFLAGS; see README, "Fuzz targets".)
cmake -S "$SRC/wdfsim" -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DWDFSIM_BUILD_TESTS=OFF -DWDFSIM_FUZZ_LINKMAIN=OFF -DWDFSIM_FUZZ_LDFLAGS="$LIB_FUZZING_ENGINE"
for dir in "$SRC"/wdfsim/corpus/*/; do
  area=$(basename "$dir")
  target="${area}_fuzzer"
  part=examples  # the core's targets live in fuzz/, the example drivers' in examples/
  [ -f "$SRC/wdfsim/fuzz/$target.cc" ] && part=fuzz
  cmake --build "$WORK/build" --target "$target"
  cp "$WORK/build/$part/$target" "$OUT/"
  cp "$SRC/wdfsim/$part/$target.dict" "$SRC/wdfsim/$part/$target.options" "$OUT/" 2>/dev/null || true
  (cd "$dir" && zip -q -r "$OUT/${target}_seed_corpus.zip" seeds regressions)
done
