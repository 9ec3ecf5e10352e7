// A structure-aware mutator over programs: it decodes an input, inserts,
// deletes, duplicates or swaps ops, rewrites one argument (with a bias to the
// edge values that matter: 0, 1, lengths +-1, named statuses), or mutates the
// choice bytes, and encodes the result. Fuzz targets export it as
// LLVMFuzzerCustomMutator; it is engine-independent so tests can drive it.
#ifndef WDFSIM_FUZZ_MUTATOR_H_
#define WDFSIM_FUZZ_MUTATOR_H_

#include <cstddef>
#include <cstdint>

namespace wdfsim::program {

// Mutates data[0..size) in place (capacity max_size) and returns the new
// size. `mutate_bytes` is libFuzzer's LLVMFuzzerMutate or nullptr.
// New ops are drawn from the first `op_count` op codes.
size_t MutateProgram(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                     size_t (*mutate_bytes)(uint8_t*, size_t, size_t), uint32_t op_count);

}  // namespace wdfsim::program

#endif  // WDFSIM_FUZZ_MUTATOR_H_
