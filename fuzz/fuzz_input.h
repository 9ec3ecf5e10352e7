// How a fuzz target reads its input: the text form (corpus seeds a person
// wrote) or the binary encoding (everything the fuzzer makes).
#ifndef WDFSIM_FUZZ_FUZZ_INPUT_H_
#define WDFSIM_FUZZ_FUZZ_INPUT_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "program/program.h"

namespace wdfsim::program {

// The target's language is the first `op_count` op codes. nullopt for text
// that does not parse or uses other ops (the input is uninteresting).
inline std::optional<Program> ReadFuzzInput(const uint8_t* data, size_t size, uint32_t op_count) {
  if (IsText({data, size})) {
    auto parsed = ParseText(absl::string_view(reinterpret_cast<const char*>(data), size));
    if (!parsed.ok() || !UsesOnly(*parsed, op_count)) return std::nullopt;
    return *std::move(parsed);
  }
  return Decode({data, size}, op_count);
}

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_FUZZ_INPUT_H_
