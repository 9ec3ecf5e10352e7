// irp_fuzzer: arbitrary programs over the whole language with the WDM IRP
// layer in the program's own hands: it builds IRPs with the three builders or
// IoAllocateIrp, sends them through filter devices of its own (which complete,
// pend, forward or skip) to scripted lower devices, sets completion routines,
// completes, cancels, waits, reuses and frees, misuse included; the choice
// bytes decide the lower devices' answers, timing and APC delivery. Oracles:
//  - no sanitizer error and no crash of the harness, whatever the program does
//    (a use of a freed IRP is the verifier's IrpDoubleFree, not a crash);
//  - the run is a function of the input: a second run gives the same trace;
//  - the IRP-lifetime model (properties/model/irp_model.h) agrees on the
//    programs it covers, run without choice bytes: each IRP freed
//    exactly once, completed at most once per ownership, nothing left on a
//    thread list at teardown, and the same report for each misuse;
//  - no presented request is completed twice, and a request's completion
//    routine runs at most once per accepted send.
#include <string>

#include "fuzz_input.h"
#include "interpreter.h"
#include "model/irp_model.h"
#include "mutator.h"
#include "oracle.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

namespace {

constexpr size_t kMaxInputBytes = 2048;

}  // namespace

using wdfsim::program::Fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  const auto program = wdfsim::program::ReadFuzzInput(data, size, wdfsim::program::kAllOpCount);
  if (!program) return 0;
  const wdfsim::program::RunResult result = wdfsim::program::Run(*program);
  const wdfsim::program::RunResult again = wdfsim::program::Run(*program);
  if (again.verdict.trace_hash != result.verdict.trace_hash || !(again.outcome == result.outcome)) {
    Fail("Nondeterministic", *program, "a second run differs: " + result.outcome.Diff(again.outcome));
  }
  // The model predicts the run with no choice bytes (nothing runs at a
  // scheduling point unless it must).
  if (const auto predicted = wdfsim::model::PredictIrps(*program)) {
    wdfsim::program::Program unchosen = *program;
    unchosen.choices.clear();
    const wdfsim::program::RunResult plain = program->choices.empty() ? result : wdfsim::program::Run(unchosen);
    if (!(plain.outcome == *predicted)) {
      Fail("IrpModelDisagreement", unchosen, "core vs model: " + plain.outcome.Diff(*predicted));
    }
  }
  if (!result.verdict.bugcheck && result.completion_calls > result.accepted_sends) {
    Fail("CompletionRoutineTwice", *program,
         std::to_string(result.completion_calls) + " completion routine calls for " +
             std::to_string(result.accepted_sends) + " accepted sends");
  }
  for (const auto& presented : result.outcome.presented) {
    if (presented.completions > 1) Fail("DoubleIrpCompletion", *program, "a presented request completed twice");
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  return wdfsim::program::MutateProgram(data, size, max_size, seed, LLVMFuzzerMutate, wdfsim::program::kAllOpCount);
}
