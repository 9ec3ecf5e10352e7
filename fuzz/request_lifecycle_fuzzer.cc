// request_lifecycle_fuzzer: drives the core with arbitrary programs over
// objects, WDFMEMORY and requests, misuse included. The independent
// reference model predicts every op's outcome; a disagreement, a sanitizer
// error, or a broken invariant is a core defect and aborts (libFuzzer keeps
// the input). Misuse that the model predicts (a verifier report, a bug
// check) is the expected behaviour, not a finding.
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "interpreter.h"
#include "model/reference_model.h"
#include "mutator.h"
#include "oracle.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

namespace {

constexpr size_t kMaxInputBytes = 4096;  // keeps every input well under 10 ms

}  // namespace

using wdfsim::program::Fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  const auto program = wdfsim::program::ReadFuzzInput(data, size, wdfsim::program::kLifecycleOpCount);
  if (!program) return 0;
  const wdfsim::program::RunResult result = wdfsim::program::Run(*program);
  const wdfsim::program::RunOutcome predicted = wdfsim::model::Predict(*program);
  if (!(result.outcome == predicted)) {
    Fail("ModelDisagreement", *program, "core vs model: " + result.outcome.Diff(predicted));
  }
  // Exactly-once completion: no IRP of a presented request finishes twice.
  for (const auto& presented : result.outcome.presented) {
    if (presented.completions > 1) Fail("DoubleIrpCompletion", *program, "an IRP completed twice without a report");
  }
  // A program the verifier found nothing in completed every request once.
  if (result.verdict.reports.empty()) {
    for (const auto& presented : result.outcome.presented) {
      if (presented.completions != 1) Fail("LostCompletion", *program, "a clean run left a request uncompleted");
    }
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  return wdfsim::program::MutateProgram(data, size, max_size, seed, LLVMFuzzerMutate,
                                        wdfsim::program::kLifecycleOpCount);
}
