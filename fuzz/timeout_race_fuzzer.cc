// timeout_race_fuzzer: the race between a send's timeout, a cancel from
// another thread and the lower driver's completion (SEMANTICS-WDF 1.5). The
// first bytes choose a scenario — a synchronous or asynchronous send with a
// timeout, how the lower device answers and when, whether the driver also
// cancels and when — and the rest answer the simulation's choices, so the
// fuzzer explores the interleavings. Oracles, for every schedule:
//  - an async send's completion routine runs exactly once (unless the lower
//    device never completes and ignores cancel), with a status in the
//    allowed set: the lower device's status, STATUS_IO_TIMEOUT (a cancelled
//    completion after the timer fired), or STATUS_CANCELLED;
//  - a sync send returns a status in the same set, with BytesReturned the
//    lower device's Information, or reports Liveness when nothing can end it;
//  - no verifier report other than Liveness in that one case.
// On a finding it prints the scenario as a program `wdfsim replay` runs.
#include <cstdio>
#include <cstdlib>

#include "interpreter.h"
#include "oracle.h"
#include "program/program.h"
#include "wdfsim/ntstatus.h"

namespace {

using wdfsim::program::Op;
using wdfsim::program::OpCode;
using wdfsim::program::Program;

struct Scenario {
  bool sync;
  uint32_t answer;  // 1 inline, 2 pend, 3 forever
  NTSTATUS status;  // the lower device's status
  uint32_t information;
  uint32_t delay_ms;
  uint32_t on_cancel;  // 0 cancelled, 1 ignore, 2 normal
  bool dispatch_level;
  uint32_t timeout_ms;
  int cancel_after_ms;  // -1: the driver does not cancel
};

constexpr NTSTATUS kStatuses[] = {STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW, STATUS_DEVICE_DATA_ERROR, STATUS_CANCELLED};

Op Make(OpCode code, std::initializer_list<std::pair<const char*, uint32_t>> args) {
  Op op;
  op.code = code;
  for (const auto& [name, value] : args) op.set_arg(name, value);
  return op;
}

Program Build(const Scenario& s, const uint8_t* choices, size_t n) {
  Program p;
  p.ops.push_back(Make(OpCode::kTargetCreate, {{"dst", 0},
                                               {"answer", s.answer},
                                               {"status", static_cast<uint32_t>(s.status)},
                                               {"information", s.information},
                                               {"delay_ms", s.delay_ms},
                                               {"on_cancel", s.on_cancel},
                                               {"dispatch_level", s.dispatch_level},
                                               {"io_type", 0},
                                               {"stack_size", 1}}));
  const uint32_t timeout = static_cast<uint32_t>(-static_cast<int32_t>(s.timeout_ms));
  if (s.sync) {
    p.ops.push_back(Make(OpCode::kSendSynchronously, {{"kind", 0},
                                                      {"target", 0},
                                                      {"req", wdfsim::program::kNullHandle},
                                                      {"length", 16},
                                                      {"flags", 0x1u},
                                                      {"timeout_ms", timeout}}));
  } else {
    p.ops.push_back(Make(OpCode::kRequestCreate, {{"dst", 1}, {"parent", wdfsim::program::kNullHandle}}));
    p.ops.push_back(Make(OpCode::kMemoryCreate, {{"dst", 2}, {"size", 16}, {"parent", wdfsim::program::kNullHandle}}));
    p.ops.push_back(Make(OpCode::kFormatRead, {{"target", 0}, {"req", 1}, {"mem", 2}}));
    p.ops.push_back(Make(OpCode::kRequestSetCompletionRoutine, {{"req", 1}, {"routine", 1}, {"action", 0}}));
    p.ops.push_back(Make(OpCode::kRequestSend, {{"req", 1}, {"target", 0}, {"flags", 0x1u}, {"timeout_ms", timeout}}));
    if (s.cancel_after_ms >= 0) {
      p.ops.push_back(Make(OpCode::kAdvanceTime, {{"ticks", static_cast<uint32_t>(s.cancel_after_ms) * 10000}}));
      p.ops.push_back(Make(OpCode::kRequestCancelSent, {{"req", 1}}));
    }
    p.ops.push_back(Make(OpCode::kAdvanceTime, {{"ticks", 2000u * 10000}}));
    p.ops.push_back(Make(OpCode::kObjectDelete, {{"obj", 1}}));
    p.ops.push_back(Make(OpCode::kObjectDelete, {{"obj", 2}}));
  }
  p.choices.assign(choices, choices + n);
  return p;
}

bool Allowed(uint32_t status, const Scenario& s) {
  return status == static_cast<uint32_t>(s.status) || status == static_cast<uint32_t>(STATUS_IO_TIMEOUT) ||
         status == static_cast<uint32_t>(STATUS_CANCELLED);
}

}  // namespace

using wdfsim::program::Fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 7 || size > 512) return 0;
  Scenario s;
  s.sync = data[0] & 1;
  s.answer = 1 + ((data[0] >> 1) & 3) % 3;
  s.status = kStatuses[(data[0] >> 3) & 3];
  s.on_cancel = ((data[0] >> 5) & 3) % 3;
  s.dispatch_level = data[0] >> 7;
  s.information = data[1] % 17;
  s.delay_ms = data[2] % 60;
  s.timeout_ms = 1 + data[3] % 60;
  s.cancel_after_ms = data[4] < 128 ? -1 : data[4] % 60;
  const Program program = Build(s, data + 5, size - 5);
  const wdfsim::program::RunResult result = wdfsim::program::Run(program);
  const bool never_completes = s.answer == 3 && s.on_cancel == 1;
  for (const wdfsim::Report& report : result.verdict.reports) {
    // What a request the lower device never gives back leaves behind: a
    // sync send hangs; an async one is deleted while still sent, and the
    // target's deletion at unload waits for it forever.
    const bool expected = never_completes && (report.rule == wdfsim::RuleId::kLiveness ||
                                              (!s.sync && report.rule == wdfsim::RuleId::kDeleteWhileSent));
    if (!expected) Fail("UnexpectedReport", program, report.rule_info().name.data());
  }
  if (s.sync) {
    const auto& send = result.outcome.ops[1];
    if (never_completes) {
      if (!send.bugcheck) Fail("MissingLiveness", program, "a send nothing can end returned");
      return 0;
    }
    if (!send.status || !Allowed(*send.status, s)) Fail("SyncStatus", program, send.ToString());
    // BytesReturned is the lower device's Information on the IRP it completed.
    if (*send.status == static_cast<uint32_t>(s.status) && !NT_ERROR(s.status) && send.value != s.information &&
        s.answer != 3) {
      Fail("SyncBytes", program, send.ToString());
    }
    return 0;
  }
  uint32_t calls = 0;
  for (const auto& op : result.outcome.ops) {
    for (const auto& callback : op.callbacks) {
      if (callback.kind != wdfsim::program::CallbackEvent::Kind::kCompletion) continue;
      ++calls;
      if (!Allowed(callback.status, s)) Fail("AsyncStatus", program, op.ToString());
    }
  }
  if (calls != (never_completes ? 0u : 1u)) Fail("ExactlyOnce", program, std::to_string(calls) + " completions");
  return 0;
}
