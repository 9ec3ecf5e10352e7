// The baseline for benchmarks: an empty target built with the same flags, so
// a target's execs/s can be stated relative to libFuzzer's own overhead.
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)data;
  (void)size;
  return 0;
}
