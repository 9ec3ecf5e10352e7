// io_target_fuzzer: arbitrary programs over the whole language — objects,
// memory, requests, and sending through I/O targets to scripted lower
// devices whose answers, timing and cancel handling come from the choice
// bytes — misuse included. Without a reference model for sending yet, the
// oracles are the invariants that hold whatever the program does:
//  - no sanitizer error and no crash of the harness;
//  - no IRP-level violation (the program never touches an IRP itself, so a
//    double IRP completion, a completion with a cancel routine still set, a
//    wrong pending mark or a freed IRP in use is the framework model's, or
//    the scripted lower driver's, fault) unless the program first reused or
//    completed a request still in flight (ReuseWhileSent, CompleteWhileSent:
//    the framework then hands back an IRP the lower driver owns);
//  - a request's completion routine runs at most once per accepted send;
//  - no presented request is completed twice.
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "interpreter.h"
#include "mutator.h"
#include "oracle.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

namespace {

constexpr size_t kMaxInputBytes = 4096;

// Rules that only the framework model or the scripted lower driver can break.
bool CoreDefect(wdfsim::RuleId rule) {
  switch (rule) {
    case wdfsim::RuleId::kMultipleIrpComplete:
    case wdfsim::RuleId::kCompleteWithCancelRoutine:
    case wdfsim::RuleId::kCancelStateInCompletedIrp:
    case wdfsim::RuleId::kNoMoreStackLocations:
    case wdfsim::RuleId::kMarkIrpPending:
    case wdfsim::RuleId::kMarkIrpPending2:
    case wdfsim::RuleId::kIrpDoubleFree:
    case wdfsim::RuleId::kIoAllocateComplete:
    case wdfsim::RuleId::kPendingReturnedNotPropagated:
    case wdfsim::RuleId::kCancelSpinLock:
    case wdfsim::RuleId::kMdlFreedLocked: return true;
    default: return false;
  }
}

}  // namespace

using wdfsim::program::Fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  const auto program = wdfsim::program::ReadFuzzInput(data, size, wdfsim::program::kWdfOpCount);
  if (!program) return 0;
  const wdfsim::program::RunResult result = wdfsim::program::Run(*program);
  // Reusing a request still pending on a target is documented to continue
  // "with undefined results": the framework resets an IRP the lower driver
  // owns, and IRP-level violations after it are the program's doing.
  bool corrupted = false;
  for (const wdfsim::Report& report : result.verdict.reports) {
    corrupted |= report.rule == wdfsim::RuleId::kReuseWhileSent || report.rule == wdfsim::RuleId::kCompleteWhileSent;
    if (!corrupted && CoreDefect(report.rule)) Fail("CoreIrpViolation", *program, report.rule_info().name.data());
  }
  // (A bug check can stop the machine inside a send that was accepted, before
  // WdfRequestSend returned: the count means nothing then.)
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
  return wdfsim::program::MutateProgram(data, size, max_size, seed, LLVMFuzzerMutate, wdfsim::program::kWdfOpCount);
}
