#include "mutator.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "program/program.h"

namespace wdfsim::program {
namespace {

uint32_t InterestingValue(std::minstd_rand& rng, uint32_t current) {
  static constexpr uint32_t kValues[] = {0,          1,          2,          7,          8,          10,
                                         11,         16,         100,        0xFFFF,     0x00000000, 0x80000005,
                                         0xC0000010, 0xC000000D, 0xC0200204, 0x40200000, 0x00000103, 0xC0000120};
  switch (rng() % 4) {
    case 0: return kValues[rng() % (sizeof(kValues) / sizeof(kValues[0]))];
    case 1: return current + 1;
    case 2: return current - 1;
    default: return static_cast<uint32_t>(rng());
  }
}

}  // namespace

size_t MutateProgram(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                     size_t (*mutate_bytes)(uint8_t*, size_t, size_t), uint32_t op_count) {
  std::minstd_rand rng(seed);
  if (mutate_bytes != nullptr && rng() % 8 == 0) return mutate_bytes(data, size, max_size);
  Program program;
  if (IsText({data, size})) {
    auto parsed = ParseText(absl::string_view(reinterpret_cast<const char*>(data), size));
    if (parsed.ok()) program = *std::move(parsed);
  } else {
    program = Decode({data, size}, op_count);
  }
  auto& ops = program.ops;
  auto random_op = [&rng, op_count] {
    Op op;
    op.code = static_cast<OpCode>(rng() % op_count);
    for (uint32_t& arg : op.args) arg = static_cast<uint32_t>(rng());
    return Normalize(op);
  };
  switch (ops.empty() ? 0 : rng() % 7) {
    case 0: ops.insert(ops.begin() + static_cast<std::ptrdiff_t>(rng() % (ops.size() + 1)), random_op()); break;
    case 1: ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(rng() % ops.size())); break;
    case 2: {
      const size_t i = rng() % ops.size();
      ops.insert(ops.begin() + static_cast<std::ptrdiff_t>(rng() % (ops.size() + 1)), ops[i]);
      break;
    }
    case 3: std::swap(ops[rng() % ops.size()], ops[rng() % ops.size()]); break;
    case 4:
    case 5: {
      Op& op = ops[rng() % ops.size()];
      const size_t n = GetOpSpec(op.code).args.size();
      if (n > 0) {
        const size_t i = rng() % n;
        op.args[i] = InterestingValue(rng, op.args[i]);
        op = Normalize(op);
      }
      break;
    }
    default: {
      auto& choices = program.choices;
      if (choices.empty() || rng() % 2) {
        choices.insert(choices.begin() + static_cast<std::ptrdiff_t>(rng() % (choices.size() + 1)),
                       static_cast<uint8_t>(rng()));
      } else {
        choices[rng() % choices.size()] = static_cast<uint8_t>(rng());
      }
      break;
    }
  }
  std::vector<uint8_t> bytes = Encode(program);
  while (bytes.size() > max_size && !program.ops.empty()) {
    program.ops.pop_back();
    bytes = Encode(program);
  }
  if (bytes.size() > max_size) bytes.resize(max_size);
  memcpy(data, bytes.data(), bytes.size());
  return bytes.size();
}

}  // namespace wdfsim::program
