// RapidCheck properties for sending, cancel and reuse: the core (through the
// interpreter) against the reference model (model/reference_model.h) on
// programs over I/O targets whose lower devices answer in a fixed way.
//
// Timing: the model predicts only programs whose outcome the choice bytes
// cannot change (Prediction::unmodelled == 0: no two timed events at the same
// instant, nothing due at a scheduling point, fixed lower answers). The
// generators keep to that space, the properties discard what falls outside
// it, and ChoicesDoNotChangeModelledOutcomes checks the claim on the core.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "interpreter.h"
#include "model/reference_model.h"
#include "program/outcome.h"
#include "program/program.h"
#include "wdfsim/ntstatus.h"

namespace wdfsim::program {
// RapidCheck prints counterexamples with this.
void showValue(const Program& program, std::ostream& os) { os << "\n" << ToText(program); }
}  // namespace wdfsim::program

namespace wdfsim::properties {
namespace {

using model::PredictDetailed;
using model::Prediction;
using program::Op;
using program::OpCode;
using program::OpOutcome;
using program::Program;
using program::RunOutcome;

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }
constexpr uint32_t kNull = program::kNullHandle;
constexpr uint32_t kTicksPerMs = 10000;

Op MakeOp(OpCode code, std::initializer_list<std::pair<const char*, uint32_t>> args) {
  Op op;
  op.code = code;
  // Handles default to NULL, as in the text form.
  const program::OpSpec& spec = program::GetOpSpec(code);
  for (size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.args[i].kind == program::ArgKind::kHandle) op.args[i] = kNull;
    if (spec.args[i].name == "stack_size") op.args[i] = 1;
  }
  for (const auto& [name, value] : args) op.set_arg(name, value);
  return op;
}

Program Parse(const std::string& text) {
  auto program = program::ParseText("wdfsim-program 1\n" + text);
  EXPECT_TRUE(program.ok()) << program.status();
  return program.ok() ? *program : Program{};
}

// The core's outcome and counts equal the model's; "" or the difference.
std::string Disagreement(const Program& program, const program::RunResult& core, const Prediction& predicted) {
  if (!(core.outcome == predicted.outcome)) return "core vs model: " + core.outcome.Diff(predicted.outcome);
  if (core.completion_calls != predicted.completion_calls || core.accepted_sends != predicted.accepted_sends) {
    return "completion routine calls / accepted sends: core " + std::to_string(core.completion_calls) + "/" +
           std::to_string(core.accepted_sends) + ", model " + std::to_string(predicted.completion_calls) + "/" +
           std::to_string(predicted.accepted_sends);
  }
  (void)program;
  return "";
}

// ---------------------------------------------------------------------------
// SEMANTICS-WDF 7: the documented outcome, pinned in the model, and the core
// agreeing with it.

struct Case {
  Prediction predicted;
  program::RunResult core;
};

Case Check(const Program& program) {
  Case c{PredictDetailed(program), program::Run(program)};
  EXPECT_EQ(c.predicted.unmodelled, 0u) << program::ToText(program);
  EXPECT_EQ(Disagreement(program, c.core, c.predicted), "") << program::ToText(program);
  return c;
}

const char* const kInline4 =
    "target_create dst=h0 answer=inline status=STATUS_SUCCESS information=4 delay_ms=0 on_cancel=cancelled "
    "dispatch_level=0 io_type=buffered stack_size=1\n";

TEST(SendCases, Case01BadOptionsSize) {
  const Case c = Check(Parse(std::string(kInline4) + "request_create dst=h1\nmemory_create dst=h2 size=8\n"
                                                     "format_read target=h0 req=h1 mem=h2\n"
                                                     "request_set_completion_routine req=h1 routine=1 action=0\n"
                                                     "request_send req=h1 target=h0 flags=0 timeout_ms=0 bad_size=1\n"
                                                     "request_get_status req=h1\n"
                                                     "object_delete obj=h1\nobject_delete obj=h2\n"));
  EXPECT_EQ(c.predicted.outcome.ops[5].value, 0u);
  EXPECT_EQ(c.predicted.outcome.ops[5].rules, std::vector<std::string>{"SendOptionsInvalid"});
  EXPECT_EQ(c.predicted.outcome.ops[6].value, S(STATUS_INVALID_PARAMETER));
}

TEST(SendCases, Case02And03SyncOptionsAndIrql) {
  const Case c = Check(Parse(std::string(kInline4) +
                             "send_synchronously kind=read target=h0 req=null length=8 flags=16 timeout_ms=0\n"
                             "send_synchronously kind=read target=h0 req=null length=8 flags=9 timeout_ms=-10\n"
                             "send_synchronously kind=read target=h0 req=null length=8 flags=8 timeout_ms=0\n"
                             "set_irql irql=dispatch\n"
                             "send_synchronously kind=read target=h0 req=null length=8 flags=16 timeout_ms=0\n"
                             "set_irql irql=passive\n"));
  const auto& ops = c.predicted.outcome.ops;
  EXPECT_EQ(ops[1].status, S(STATUS_INVALID_PARAMETER));
  EXPECT_EQ(ops[2].status, S(STATUS_INVALID_PARAMETER));
  EXPECT_EQ(ops[3].status, S(STATUS_SUCCESS));
  EXPECT_EQ(ops[3].value, 4u);
  EXPECT_EQ(ops[5].status, S(STATUS_INVALID_DEVICE_REQUEST));
  EXPECT_EQ(ops[5].rules, std::vector<std::string>{"KmdfIrql"});
  EXPECT_EQ(ops[5].value, 0xDEADBEEFu);  // BytesRead untouched
}

TEST(SendCases, Case06And07SyncTimeout) {
  const Case honoured = Check(
      Parse("target_create dst=h0 answer=forever status=STATUS_SUCCESS information=0 delay_ms=0 on_cancel=cancelled "
            "dispatch_level=0 io_type=buffered stack_size=1\n"
            "send_synchronously kind=read target=h0 req=null length=16 flags=1 timeout_ms=-10\n"));
  EXPECT_EQ(honoured.predicted.outcome.ops[1].status, S(STATUS_IO_TIMEOUT));
  EXPECT_EQ(honoured.predicted.outcome.ops[1].value, 0u);
  const Case ignored =
      Check(Parse("target_create dst=h0 answer=pend status=STATUS_SUCCESS information=7 delay_ms=50 on_cancel=ignore "
                  "dispatch_level=0 io_type=buffered stack_size=1\n"
                  "send_synchronously kind=read target=h0 req=null length=16 flags=1 timeout_ms=-10\n"));
  EXPECT_EQ(ignored.predicted.outcome.ops[1].status, S(STATUS_SUCCESS));
  EXPECT_EQ(ignored.predicted.outcome.ops[1].value, 7u);
}

TEST(SendCases, Case09And10StoppedPurgedClosed) {
  const Case stopped = Check(Parse(std::string(kInline4) +
                                   "target_stop target=h0 action=leave\n"
                                   "send_synchronously kind=read target=h0 req=null length=8 flags=1 timeout_ms=-10\n"
                                   "target_get_state target=h0\n"));
  EXPECT_EQ(stopped.predicted.outcome.ops[2].status, S(STATUS_IO_TIMEOUT));
  EXPECT_EQ(stopped.predicted.outcome.ops[3].value, 2u);  // WdfIoTargetStopped
  const Case purged = Check(Parse(std::string(kInline4) +
                                  "target_purge target=h0 wait=1\n"
                                  "send_synchronously kind=read target=h0 req=null length=8 flags=1 timeout_ms=-10\n"
                                  "send_synchronously kind=read target=h0 req=null length=8 flags=5 timeout_ms=-10\n"
                                  "target_close target=h0\n"
                                  "send_synchronously kind=read target=h0 req=null length=8 flags=5 timeout_ms=-10\n"));
  const auto& ops = purged.predicted.outcome.ops;
  EXPECT_EQ(ops[2].status, S(STATUS_INVALID_DEVICE_STATE));
  EXPECT_EQ(ops[2].value, 0u);  // failed in SubmitLocked: written
  EXPECT_EQ(ops[3].status, S(STATUS_SUCCESS));
  EXPECT_EQ(ops[5].status, S(STATUS_INVALID_DEVICE_STATE));
  EXPECT_EQ(ops[5].value, 0xDEADBEEFu);  // failed in ValidateTarget: untouched
}

TEST(SendCases, Case11StackLocations) {
  const Case c = Check(
      Parse("target_create dst=h0 answer=inline status=STATUS_SUCCESS information=4 delay_ms=0 on_cancel=cancelled "
            "dispatch_level=0 io_type=buffered stack_size=2\n"
            "present dst=h1 major=read length=8 stack_size=1\n"
            "send_synchronously kind=read target=h0 req=h1 length=8 flags=1 timeout_ms=-10\n"
            "request_complete req=h1 status=STATUS_SUCCESS\n"
            "request_create dst=h2\n"
            "send_synchronously kind=read target=h0 req=h2 length=8 flags=1 timeout_ms=-10\n"
            "object_delete obj=h2\n"));
  EXPECT_EQ(c.predicted.outcome.ops[2].status, S(STATUS_REQUEST_NOT_ACCEPTED));
  EXPECT_EQ(c.predicted.outcome.ops[5].status, S(STATUS_SUCCESS));
}

TEST(SendCases, Case12SendWhilePending) {
  const Case c = Check(Parse(
      "target_create dst=h0 answer=forever status=STATUS_SUCCESS information=0 delay_ms=0 on_cancel=cancelled "
      "dispatch_level=0 io_type=buffered stack_size=1\n"
      "request_create dst=h1\nmemory_create dst=h2 size=8\nformat_read target=h0 req=h1 mem=h2\n"
      "request_set_completion_routine req=h1 routine=1 action=0\n"
      "request_send req=h1 target=h0 flags=0 timeout_ms=0\nrequest_send req=h1 target=h0 flags=0 timeout_ms=0\n"));
  EXPECT_TRUE(c.predicted.outcome.ops[6].bugcheck);
  EXPECT_EQ(c.predicted.outcome.ops[6].rules, std::vector<std::string>{"RequestAlreadySent"});
}

TEST(SendCases, Case13StickyCancel) {
  const Case c = Check(Parse(std::string(kInline4) + "request_create dst=h1\nmemory_create dst=h2 size=8\n"
                                                     "format_read target=h0 req=h1 mem=h2\n"
                                                     "request_set_completion_routine req=h1 routine=1 action=0\n"
                                                     "request_cancel_sent req=h1\n"
                                                     "request_send req=h1 target=h0 flags=0 timeout_ms=0\n"
                                                     "request_get_status req=h1\n"
                                                     "request_reuse req=h1 flags=0 status=STATUS_SUCCESS\n"
                                                     "format_read target=h0 req=h1 mem=h2\n"
                                                     "request_set_completion_routine req=h1 routine=1 action=0\n"
                                                     "request_send req=h1 target=h0 flags=0 timeout_ms=0\n"
                                                     "object_delete obj=h1\nobject_delete obj=h2\n"));
  const auto& ops = c.predicted.outcome.ops;
  EXPECT_EQ(ops[5].value, 0u);
  EXPECT_EQ(ops[6].value, 0u);
  EXPECT_EQ(ops[7].value, S(STATUS_CANCELLED));
  EXPECT_EQ(ops[11].value, 1u);
  EXPECT_EQ(ops[11].callbacks.size(), 1u);
}

TEST(SendCases, Case14And15AsyncTimer) {
  const Case fired = Check(
      Parse("target_create dst=h0 answer=forever status=STATUS_SUCCESS information=0 delay_ms=0 on_cancel=cancelled "
            "dispatch_level=0 io_type=buffered stack_size=1\n"
            "request_create dst=h1\nmemory_create dst=h2 size=8\nformat_read target=h0 req=h1 mem=h2\n"
            "request_set_completion_routine req=h1 routine=1 action=0\n"
            "request_send req=h1 target=h0 flags=1 timeout_ms=-10\nadvance_time ticks=200000\n"
            "object_delete obj=h1\nobject_delete obj=h2\n"));
  ASSERT_EQ(fired.predicted.outcome.ops[6].callbacks.size(), 1u);
  EXPECT_EQ(fired.predicted.outcome.ops[6].callbacks[0].status, S(STATUS_IO_TIMEOUT));
  const Case lost = Check(
      Parse("target_create dst=h0 answer=forever status=STATUS_SUCCESS information=0 delay_ms=0 on_cancel=cancelled "
            "dispatch_level=0 io_type=buffered stack_size=1\n"
            "target_stop target=h0 action=leave\n"
            "request_create dst=h1\nmemory_create dst=h2 size=8\nformat_read target=h0 req=h1 mem=h2\n"
            "request_set_completion_routine req=h1 routine=1 action=0\n"
            "request_send req=h1 target=h0 flags=1 timeout_ms=-10\nadvance_time ticks=50000\n"
            "target_start target=h0\nadvance_time ticks=1000000\nrequest_cancel_sent req=h1\n"
            "object_delete obj=h1\nobject_delete obj=h2\n"));
  EXPECT_TRUE(lost.predicted.outcome.ops[9].callbacks.empty());  // no timeout fired
  ASSERT_EQ(lost.predicted.outcome.ops[10].callbacks.size(), 1u);
  EXPECT_EQ(lost.predicted.outcome.ops[10].callbacks[0].status, S(STATUS_CANCELLED));  // not morphed
}

TEST(SendCases, Case14SameInstantIsOutsideTheModel) {
  const Program program = Parse(
      "target_create dst=h0 answer=pend status=STATUS_SUCCESS information=8 delay_ms=10 on_cancel=ignore "
      "dispatch_level=0 io_type=buffered stack_size=1\n"
      "request_create dst=h1\nformat_read target=h0 req=h1 mem=null\n"
      "request_set_completion_routine req=h1 routine=1 action=0\n"
      "request_send req=h1 target=h0 flags=1 timeout_ms=-10\nadvance_time ticks=200000\n");
  EXPECT_EQ(PredictDetailed(program).unmodelled, uint32_t{model::kUnmodelledTiming});
}

TEST(SendCases, Case16And17CompletionRoutineAndSendAndForget) {
  const Case c = Check(Parse(std::string(kInline4) + "present dst=h1 major=read length=8 stack_size=2\n"
                                                     "format_read target=h0 req=h1 mem=null\n"
                                                     "request_send req=h1 target=h0 flags=0 timeout_ms=0\n"
                                                     "request_get_status req=h1\n"
                                                     "request_complete req=h1 status=STATUS_UNSUCCESSFUL\n"
                                                     "present dst=h2 major=read length=8 stack_size=2\n"
                                                     "format_read target=h0 req=h2 mem=null\n"
                                                     "request_send req=h2 target=h0 flags=8 timeout_ms=0\n"
                                                     "request_complete req=h2 status=STATUS_SUCCESS\n"
                                                     "target_stop target=h0 action=leave\n"
                                                     "present dst=h3 major=read length=8 stack_size=2\n"
                                                     "request_send req=h3 target=h0 flags=8 timeout_ms=0\n"));
  const auto& ops = c.predicted.outcome.ops;
  EXPECT_EQ(ops[3].rules, std::vector<std::string>{"ReqCompletionRoutine"});
  EXPECT_EQ(ops[4].value, S(STATUS_INVALID_DEVICE_REQUEST));
  EXPECT_EQ(ops[8].rules, std::vector<std::string>{"SendAndForgetMisuse"});
  EXPECT_EQ(ops[12].value, 1u);
  ASSERT_EQ(c.predicted.outcome.presented.size(), 3u);
  EXPECT_EQ(c.predicted.outcome.presented[2].completions, 1u);  // forwarded to the stopped target anyway
  EXPECT_EQ(c.predicted.outcome.presented[2].information, 4u);
}

// DISAGREEMENTS.md S1: the driver deletes a WDFMEMORY a format references and
// then releases a reference it never took; reported at that release.
TEST(SendCases, S1ReleaseFreeingMemoryAFormatHoldsIsObjectOverDereference) {
  const Case c = Check(Parse(
      "target_create dst=h0 answer=inline status=STATUS_SUCCESS information=4 delay_ms=5 on_cancel=cancelled "
      "dispatch_level=0 io_type=buffered stack_size=2\n"
      "request_create dst=h3 parent=driver attrs=0\nmemory_create dst=h5 size=8 parent=driver paged=0 attrs=0\n"
      "format_read target=h0 req=h3 mem=h5 offset=0 length=3\nobject_delete obj=h5\nobject_dereference obj=h5\n"));
  const auto& ops = c.predicted.outcome.ops;
  EXPECT_TRUE(ops[4].rules.empty());  // the format's reference keeps it alive
  EXPECT_TRUE(ops[5].bugcheck);
  EXPECT_EQ(ops[5].rules, std::vector<std::string>{"ObjectOverDereference"});
}

TEST(SendCases, Case18And19MemoryReferences) {
  const Case c = Check(
      Parse("target_create dst=h0 answer=inline status=STATUS_SUCCESS information=65535 delay_ms=0 on_cancel=cancelled "
            "dispatch_level=0 io_type=buffered stack_size=1\n"
            "memory_create dst=h2 size=8 attrs=cleanup|destroy\nrequest_create dst=h1\n"
            "format_write target=h0 req=h1 mem=h2\n"
            "request_set_completion_routine req=h1 routine=1 action=0\n"
            "request_send req=h1 target=h0 flags=0 timeout_ms=0\n"
            "request_get_completion_params req=h1\nrequest_get_information req=h1\n"
            "object_delete obj=h2\n"
            "request_reuse req=h1 flags=0 status=STATUS_SUCCESS\nrequest_get_completion_params req=h1\n"
            "object_delete obj=h1\n"));
  const auto& ops = c.predicted.outcome.ops;
  EXPECT_EQ(ops[6].value, 0x4u);  // WdfRequestTypeWrite: still formatted after completion
  EXPECT_TRUE(ops[6].rules.empty());
  EXPECT_EQ(ops[7].value, 8u);
  ASSERT_EQ(ops[8].callbacks.size(), 1u);  // cleanup now ...
  EXPECT_EQ(ops[8].callbacks[0].kind, program::CallbackEvent::Kind::kCleanup);
  ASSERT_EQ(ops[9].callbacks.size(), 1u);  // ... destroy when the request lets go
  EXPECT_EQ(ops[9].callbacks[0].kind, program::CallbackEvent::Kind::kDestroy);
  EXPECT_EQ(ops[10].value, 0xFFu);  // NoFormat
}

// ---------------------------------------------------------------------------
// Generated sending programs (misuse included).

// Slots by role (the stateful test uses the same): h0, h1 targets; h2, h3
// driver-created requests; h4 a presented request; h5, h6 memory. Now and
// then any handle at all (misuse: wrong type, stale, NULL, never issued).
uint32_t GenHandleFor(absl::string_view role) {
  if (*rc::gen::inRange(0, 15) == 0) return *rc::gen::inRange<uint32_t>(0, program::kHandleRefCount);
  if (role == "target") return *rc::gen::weightedElement<uint32_t>({{4, 0}, {1, 1}});
  if (role == "req") return *rc::gen::weightedElement<uint32_t>({{4, 2}, {1, 3}, {2, 4}});
  if (role == "mem" || role == "in" || role == "out") {
    return *rc::gen::weightedElement<uint32_t>({{3, 5}, {1, 6}, {2, kNull}});
  }
  return *rc::gen::inRange<uint32_t>(0, 7);
}
uint32_t GenSlotFor(OpCode code) {
  switch (code) {
    case OpCode::kTargetCreate: return *rc::gen::weightedElement<uint32_t>({{3, 0}, {1, 1}});
    case OpCode::kRequestCreate: return *rc::gen::weightedElement<uint32_t>({{3, 2}, {1, 3}});
    case OpCode::kPresent: return 4;
    default: return *rc::gen::inRange<uint32_t>(5, 7);
  }
}
rc::Gen<uint32_t> GenLowerStatus() {
  return rc::gen::element(S(STATUS_SUCCESS), S(STATUS_SUCCESS), S(STATUS_BUFFER_OVERFLOW), S(STATUS_UNSUCCESSFUL),
                          S(STATUS_CANCELLED), S(STATUS_DEVICE_DATA_ERROR));
}
// Timeouts in ms (negative relative, positive absolute), 0 none.
rc::Gen<uint32_t> GenTimeout() {
  return rc::gen::map(rc::gen::element<int32_t>(0, -3, -10, -25, -60, 7, 40),
                      [](int32_t t) { return static_cast<uint32_t>(t); });
}
rc::Gen<uint32_t> GenSendFlags() {
  return rc::gen::weightedOneOf<uint32_t>({
      {10, rc::gen::element<uint32_t>(0, 1, 4, 5)},
      {3, rc::gen::element<uint32_t>(2, 3, 8)},
      {1, rc::gen::inRange<uint32_t>(0, 0x20)},
  });
}

Op GenSendOp(OpCode code);
Op GenSendOp() {
  return GenSendOp(*rc::gen::weightedElement<OpCode>({
      {3, OpCode::kTargetCreate},
      {3, OpCode::kRequestCreate},
      {2, OpCode::kPresent},
      {3, OpCode::kMemoryCreate},
      {4, OpCode::kFormatRead},
      {3, OpCode::kFormatWrite},
      {3, OpCode::kFormatIoctl},
      {5, OpCode::kRequestSetCompletionRoutine},
      {8, OpCode::kRequestSend},
      {3, OpCode::kRequestCancelSent},
      {3, OpCode::kRequestReuse},
      {1, OpCode::kRequestChangeTarget},
      {3, OpCode::kSendSynchronously},
      {1, OpCode::kTargetStart},
      {1, OpCode::kTargetStop},
      {1, OpCode::kTargetPurge},
      {1, OpCode::kTargetClose},
      {1, OpCode::kTargetGetState},
      {4, OpCode::kAdvanceTime},
      {1, OpCode::kPassTime},
      {2, OpCode::kRequestGetStatus},
      {1, OpCode::kRequestGetInformation},
      {1, OpCode::kRequestGetCompletionParams},
      {2, OpCode::kObjectDelete},
      {1, OpCode::kRequestComplete},
      {1, OpCode::kSetIrql},
      {1, OpCode::kObjectReference},
      {1, OpCode::kObjectDereference},
  }));
}
Op GenSendOp(OpCode code) {
  Op op = MakeOp(code, {});
  const program::OpSpec& spec = program::GetOpSpec(code);
  for (size_t i = 0; i < spec.args.size(); ++i) {
    const auto& arg = spec.args[i];
    uint32_t v = 0;
    if (arg.name == "parent") {
      v = program::kDriverHandle;
    } else if (arg.name == "req" && code == OpCode::kSendSynchronously) {
      v = *rc::gen::weightedElement<uint32_t>({{2, kNull}, {1, GenHandleFor("req")}});
    } else if (arg.kind == program::ArgKind::kSlot) {
      v = GenSlotFor(code);
    } else if (arg.kind == program::ArgKind::kHandle) {
      v = GenHandleFor(arg.name);
    } else if (arg.name == "answer") {
      v = *rc::gen::inRange<uint32_t>(1, 4);
    } else if (arg.kind == program::ArgKind::kStatus) {
      v = *GenLowerStatus();
    } else if (arg.name == "information") {
      v = *rc::gen::element<uint32_t>(0, 4, 8, 0xFFFF);
    } else if (arg.name == "delay_ms") {
      v = *rc::gen::element<uint32_t>(2, 5, 17, 50);
    } else if (arg.name == "timeout_ms") {
      v = *GenTimeout();
    } else if (arg.name == "flags") {
      v = code == OpCode::kRequestReuse ? *rc::gen::weightedElement<uint32_t>({{10, 0}, {1, 1}, {1, 2}})
                                        : *GenSendFlags();
    } else if (arg.name == "ticks") {
      v = *rc::gen::element<uint32_t>(10 * kTicksPerMs, 30 * kTicksPerMs, 100 * kTicksPerMs, 1);
    } else if (arg.name == "size" || arg.name == "length" || arg.name == "offset") {
      v = *rc::gen::weightedElement<uint32_t>({{4, 0}, {4, 8}, {2, 16}, {1, 3}});
      if (arg.name == "size" && v == 0) v = 8;
    } else if (arg.name == "stack_size") {
      v = *rc::gen::weightedElement<uint32_t>({{4, 1}, {4, 2}, {1, 3}});
    } else if (arg.name == "irql") {
      v = *rc::gen::element<uint32_t>(0, 2);
    } else if (arg.name == "attrs") {
      v = *rc::gen::inRange<uint32_t>(0, 4);
    } else if (arg.name == "routine") {
      v = *rc::gen::weightedElement<uint32_t>({{6, 1}, {1, 0}});
    } else if (arg.name == "bad_size") {
      v = *rc::gen::weightedElement<uint32_t>({{12, 0}, {1, 1}});
    } else {
      v = *rc::gen::inRange<uint32_t>(0, 0x100);  // Normalize reduces it
    }
    op.args[i] = v;
  }
  return program::Normalize(op);
}

// Programs inside the model's space: each op is drawn up to 8 times until the
// model predicts the prefix (and, mostly, no bug check); a last advance_time
// lets pended I/O finish before teardown.
rc::Gen<Program> GenSendProgram() {
  return rc::gen::exec([] {
    Program program;
    // Mostly a prologue: a target, a request and a memory to work with.
    if (*rc::gen::inRange(0, 4) != 0) {
      for (const OpCode code : {OpCode::kTargetCreate, OpCode::kRequestCreate, OpCode::kMemoryCreate}) {
        for (int attempt = 0; attempt < 8; ++attempt) {
          Op op = GenSendOp(code);
          program.ops.push_back(op);
          if (PredictDetailed(program).unmodelled == 0) break;
          program.ops.pop_back();
        }
      }
    }
    const size_t n = *rc::gen::inRange<size_t>(5, 30);
    for (size_t i = 0; i < n; ++i) {
      const bool allow_bugcheck = *rc::gen::inRange(0, 30) == 0;
      bool kept = false;
      for (int attempt = 0; attempt < 8 && !kept; ++attempt) {
        // Often a whole send: format, completion routine, WdfRequestSend.
        std::vector<Op> ops = {GenSendOp()};
        if (*rc::gen::inRange(0, 3) == 0) {
          Op format = GenSendOp(*rc::gen::element(OpCode::kFormatRead, OpCode::kFormatWrite, OpCode::kFormatIoctl));
          Op routine = GenSendOp(OpCode::kRequestSetCompletionRoutine);
          Op send = GenSendOp(OpCode::kRequestSend);
          routine.set_arg("req", format.arg("req"));
          send.set_arg("req", format.arg("req"));
          send.set_arg("target", format.arg("target"));
          ops = {format, routine, send};
        }
        program.ops.insert(program.ops.end(), ops.begin(), ops.end());
        const Prediction p = PredictDetailed(program);
        const bool bugcheck = std::any_of(p.outcome.ops.end() - static_cast<std::ptrdiff_t>(ops.size()),
                                          p.outcome.ops.end(), [](const OpOutcome& o) { return o.bugcheck; });
        kept = p.unmodelled == 0 && (allow_bugcheck || !bugcheck);
        if (!kept) program.ops.resize(program.ops.size() - ops.size());
      }
      if (!PredictDetailed(program).outcome.teardown.executed) break;  // it bug-checked
    }
    if (*rc::gen::inRange(0, 4) != 0) program.ops.push_back(MakeOp(OpCode::kAdvanceTime, {{"ticks", 20000000}}));
    return program;
  });
}

void CheckAgreement(const Program& program) {
  const Prediction predicted = PredictDetailed(program);
  RC_PRE(predicted.unmodelled == 0u);
  const program::RunResult core = program::Run(program);
  RC_CLASSIFY(core.accepted_sends > 0, "accepted a send");
  RC_CLASSIFY(core.completion_calls > 0, "ran a completion routine");
  RC_CLASSIFY(core.verdict.bugcheck, "bug-checks");
  RC_TAG(program.ops.size() / 10 * 10);
  for (const OpOutcome& op : core.outcome.ops) {
    if (op.bugcheck) RC_TAG(op.rules.empty() ? std::string("?") : op.rules.back());
  }
  if (core.outcome.teardown.bugcheck) RC_TAG("teardown " + core.outcome.teardown.rules.back());
  const std::string diff = Disagreement(program, core, predicted);
  if (!diff.empty()) RC_FAIL(diff);
  RC_ASSERT(core.completion_calls <= core.accepted_sends);
}

RC_GTEST_PROP(SendAgreement, CoreMatchesModelOnSendingPrograms, ()) { CheckAgreement(*GenSendProgram()); }

// Outside kUnmodelledTiming no choice byte can change the outcome.
RC_GTEST_PROP(SendAgreement, ChoicesDoNotChangeModelledOutcomes, ()) {
  Program program = *GenSendProgram();
  RC_PRE(PredictDetailed(program).unmodelled == 0u);
  const RunOutcome base = program::Run(program).outcome;
  program.choices = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
  const RunOutcome other = program::Run(program).outcome;
  if (!(base == other)) RC_FAIL("choices changed the outcome: " + base.Diff(other));
}

// ---------------------------------------------------------------------------
// Stateful: commands append sending, cancel and reuse ops; a command is
// possible when the model predicts the program with it (and says it does not
// bug-check, unless it is a misuse that must). Each step checks the core
// against the model, and the invariants; the end drains all I/O and checks
// the teardown.
//
// Slots: h0, h1 targets; h2, h3 driver-created requests; h4 a presented
// request; h5, h6 memory.

constexpr uint32_t kPresentedSlot = 4;

struct State {
  std::vector<Op> ops;
  bool misused = false;  // a misuse command ran: reports are expected
  bool stopped = false;  // it bug-checked
  std::array<bool, program::kSlots> used{};
  Prediction Predict(const std::vector<Op>& more) const {
    Program p;
    p.ops = ops;
    p.ops.insert(p.ops.end(), more.begin(), more.end());
    return PredictDetailed(p);
  }
};

struct Sut {
  Program program;
};

using Command = rc::state::Command<State, Sut>;

// Memory references balance: every reference a WDFMEMORY has beyond its
// creation reference is a format reference some request holds.
bool MemoryBalanced(const Prediction& p) {
  int32_t extra = 0, held = 0;
  for (const model::ObjectSnapshot& o : p.objects) {
    if (o.memory && o.alive) extra += o.references - 1;
    held += o.format_references;
  }
  return extra == held;
}

struct Step : Command {
  std::vector<Op> ops;
  std::vector<std::string> expected_rules;  // of the last op, for a misuse
  bool expect_bugcheck = false;

  void checkPreconditions(const State& s) const override {
    RC_PRE(!s.stopped);
    const Prediction p = s.Predict(ops);
    RC_PRE(p.unmodelled == 0u);
    const OpOutcome& last = p.outcome.ops.back();
    RC_PRE(last.bugcheck == expect_bugcheck);
    if (!expected_rules.empty()) RC_PRE(last.rules == expected_rules);
    for (size_t i = s.ops.size(); i < p.outcome.ops.size(); ++i) {
      const OpOutcome& op = p.outcome.ops[i];
      if (i + 1 < p.outcome.ops.size()) RC_PRE(!op.bugcheck);
      if (i + 1 == p.outcome.ops.size() && !expected_rules.empty()) continue;
      // Valid ops report nothing but the lint of a sync send with no timeout.
      if (!Misuse()) {
        for (const std::string& rule : op.rules) RC_PRE(rule == "SyncReqSend");
      }
    }
  }
  virtual bool Misuse() const { return !expected_rules.empty(); }
  void apply(State& s) const override {
    s.ops.insert(s.ops.end(), ops.begin(), ops.end());
    s.misused |= !expected_rules.empty();
    s.stopped |= expect_bugcheck;
    for (const Op& op : ops) {
      if (op.code == OpCode::kTargetCreate || op.code == OpCode::kRequestCreate || op.code == OpCode::kPresent ||
          op.code == OpCode::kMemoryCreate) {
        s.used[op.arg("dst")] = true;
      }
    }
  }
  void run(const State& pre, Sut& sut) const override {
    sut.program.ops.insert(sut.program.ops.end(), ops.begin(), ops.end());
    const program::RunResult core = program::Run(sut.program);
    const Prediction predicted = PredictDetailed(sut.program);
    const std::string diff = Disagreement(sut.program, core, predicted);
    if (!diff.empty()) RC_FAIL(diff);
    // Each accepted send's completion routine runs at most once.
    RC_ASSERT(core.completion_calls <= core.accepted_sends);
    for (const auto& presented : core.outcome.presented) RC_ASSERT(presented.completions <= 1u);
    if (!expect_bugcheck) RC_ASSERT(MemoryBalanced(predicted));
    for (const model::ObjectSnapshot& o : predicted.objects) RC_ASSERT(o.min_references >= 0);
    const OpOutcome& last = core.outcome.ops.back();
    RC_ASSERT(last.bugcheck == expect_bugcheck);
    if (!expected_rules.empty()) RC_ASSERT(last.rules == expected_rules);
    (void)pre;
  }
  void show(std::ostream& os) const override {
    for (const Op& op : ops) os << program::OpToText(op) << "; ";
  }
};

uint32_t Target() { return *rc::gen::inRange<uint32_t>(0, 2); }
uint32_t Request() { return *rc::gen::element<uint32_t>(2u, 3u, 2u, 3u, +kPresentedSlot); }
uint32_t CreatedRequest() { return *rc::gen::inRange<uint32_t>(2, 4); }
uint32_t Memory() { return *rc::gen::element<uint32_t>(5u, 6u, +kNull); }

struct CreateTarget : Step {
  explicit CreateTarget(const State& s) {
    const uint32_t slot = Target();
    RC_PRE(!s.used[slot]);
    const uint32_t answer = *rc::gen::inRange<uint32_t>(1, 4);
    // A lower device that pends forever honours cancel, so that all I/O can be
    // drained at the end.
    const uint32_t on_cancel = answer == 3 ? *rc::gen::element<uint32_t>(0, 2) : *rc::gen::inRange<uint32_t>(0, 3);
    ops = {MakeOp(OpCode::kTargetCreate, {{"dst", slot},
                                          {"answer", answer},
                                          {"status", *GenLowerStatus()},
                                          {"information", *rc::gen::element<uint32_t>(0, 4, 0xFFFF)},
                                          {"delay_ms", *rc::gen::element<uint32_t>(3, 20, 45)},
                                          {"on_cancel", on_cancel},
                                          {"dispatch_level", *rc::gen::inRange<uint32_t>(0, 2)},
                                          {"io_type", *rc::gen::inRange<uint32_t>(0, 3)},
                                          {"stack_size", *rc::gen::inRange<uint32_t>(1, 3)}})};
  }
};

struct CreateObjects : Step {
  explicit CreateObjects(const State& s) {
    for (uint32_t slot : {2u, 3u}) {
      if (!s.used[slot]) ops.push_back(MakeOp(OpCode::kRequestCreate, {{"dst", slot}, {"attrs", 0}}));
    }
    for (uint32_t slot : {5u, 6u}) {
      if (!s.used[slot]) {
        ops.push_back(
            MakeOp(OpCode::kMemoryCreate,
                   {{"dst", slot}, {"size", *rc::gen::element<uint32_t>(8, 16)}, {"parent", program::kDriverHandle}}));
      }
    }
    RC_PRE(!ops.empty());
  }
};

struct Present : Step {
  explicit Present(const State& s) {
    RC_PRE(!s.used[kPresentedSlot]);
    ops = {MakeOp(OpCode::kPresent, {{"dst", kPresentedSlot},
                                     {"major", *rc::gen::inRange<uint32_t>(0, 3)},
                                     {"length", 16},
                                     {"output_length", 16},
                                     {"stack_size", *rc::gen::inRange<uint32_t>(2, 4)}})};
  }
};

struct Format : Step {
  explicit Format(const State&) {
    const uint32_t req = Request();
    const auto code = *rc::gen::element(OpCode::kFormatRead, OpCode::kFormatWrite, OpCode::kFormatIoctl);
    Op op = MakeOp(code, {{"target", Target()}, {"req", req}, {"mem", Memory()}, {"in", Memory()}, {"out", Memory()}});
    if (code != OpCode::kFormatIoctl && *rc::gen::inRange(0, 3) == 0) {
      op.set_arg("offset", *rc::gen::element<uint32_t>(0, 4, 8));
      op.set_arg("length", *rc::gen::element<uint32_t>(0, 4, 12));
    }
    ops = {op};
  }
};

struct Send : Step {
  explicit Send(const State&) {
    const uint32_t req = Request();
    // The presented request completes itself from its routine.
    const uint32_t action = req == kPresentedSlot ? 2 : 0;
    ops = {MakeOp(OpCode::kRequestSetCompletionRoutine, {{"req", req}, {"routine", 1}, {"action", action}}),
           MakeOp(OpCode::kRequestSend, {{"req", req},
                                         {"target", Target()},
                                         {"flags", *rc::gen::element<uint32_t>(0, 0, 1, 1, 4, 5, 3)},
                                         {"timeout_ms", *GenTimeout()}})};
  }
};

struct CancelSent : Step {
  explicit CancelSent(const State&) { ops = {MakeOp(OpCode::kRequestCancelSent, {{"req", Request()}})}; }
};

struct Reuse : Step {
  explicit Reuse(const State&) {
    ops = {MakeOp(OpCode::kRequestReuse, {{"req", CreatedRequest()}, {"status", S(STATUS_SUCCESS)}})};
  }
};

struct ChangeTarget : Step {
  explicit ChangeTarget(const State&) {
    ops = {MakeOp(OpCode::kRequestChangeTarget, {{"req", Request()}, {"target", Target()}})};
  }
};

struct SyncSend : Step {
  explicit SyncSend(const State&) {
    const uint32_t req = *rc::gen::element<uint32_t>(+kNull, +kNull, 2u, 3u, +kPresentedSlot);
    ops = {MakeOp(OpCode::kSendSynchronously, {{"kind", *rc::gen::inRange<uint32_t>(0, 4)},
                                               {"target", Target()},
                                               {"req", req},
                                               {"length", *rc::gen::element<uint32_t>(0, 8)},
                                               {"flags", *rc::gen::element<uint32_t>(1, 5, 0)},
                                               {"timeout_ms", *GenTimeout()}})};
  }
};

struct TargetControl : Step {
  explicit TargetControl(const State&) {
    const uint32_t target = Target();
    switch (*rc::gen::inRange(0, 4)) {
      case 0: ops = {MakeOp(OpCode::kTargetStart, {{"target", target}})}; break;
      case 1:
        ops = {MakeOp(OpCode::kTargetStop, {{"target", target}, {"action", *rc::gen::inRange<uint32_t>(0, 3)}})};
        break;
      case 2:
        ops = {MakeOp(OpCode::kTargetPurge, {{"target", target}, {"wait", *rc::gen::inRange<uint32_t>(0, 2)}})};
        break;
      default: ops = {MakeOp(OpCode::kTargetGetState, {{"target", target}})}; break;
    }
  }
};

struct Time : Step {
  explicit Time(const State&) {
    const uint32_t ms = *rc::gen::element<uint32_t>(1, 4, 15, 40, 100);
    ops = {MakeOp(*rc::gen::weightedElement<OpCode>({{4, OpCode::kAdvanceTime}, {1, OpCode::kPassTime}}),
                  {{"ticks", ms * kTicksPerMs}})};
  }
};

struct Query : Step {
  explicit Query(const State&) {
    const auto code = *rc::gen::element(OpCode::kRequestGetStatus, OpCode::kRequestGetInformation,
                                        OpCode::kRequestGetCompletionParams);
    ops = {MakeOp(code, {{"req", CreatedRequest()}})};
  }
};

// ---- Misuse: each must get exactly its rule ----

struct SendWhileInFlight : Step {
  explicit SendWhileInFlight(const State&) {
    ops = {MakeOp(OpCode::kRequestSend, {{"req", CreatedRequest()}, {"target", Target()}})};
    expected_rules = {"RequestAlreadySent"};
    expect_bugcheck = true;
  }
};

struct SyncAtDispatch : Step {
  explicit SyncAtDispatch(const State&) {
    ops = {MakeOp(OpCode::kSetIrql, {{"irql", 2}}),
           MakeOp(OpCode::kSendSynchronously, {{"target", Target()}, {"length", 8}, {"flags", 1}, {"timeout_ms", -10}}),
           MakeOp(OpCode::kSetIrql, {{"irql", 0}})};
  }
  // The rule is on the middle op.
  void run(const State& pre, Sut& sut) const override {
    Step::run(pre, sut);
    const program::RunResult core = program::Run(sut.program);
    const OpOutcome& sync = core.outcome.ops[sut.program.ops.size() - 2];
    RC_ASSERT(sync.rules == std::vector<std::string>{"KmdfIrql"});
    RC_ASSERT(sync.status == S(STATUS_INVALID_DEVICE_REQUEST));
  }
  void apply(State& s) const override {
    Step::apply(s);
    s.misused = true;
  }
  bool Misuse() const override { return true; }
};

struct BadSendOptions : Step {
  explicit BadSendOptions(const State&) {
    const bool bad_size = *rc::gen::arbitrary<bool>();
    ops = {MakeOp(OpCode::kRequestSend, {{"req", Request()},
                                         {"target", Target()},
                                         {"flags", bad_size ? 0u : *rc::gen::element<uint32_t>(0x10, 9, 12)},
                                         {"bad_size", bad_size}})};
    expected_rules = {"SendOptionsInvalid"};
  }
};

struct UseStaleRequest : Step {
  explicit UseStaleRequest(const State&) {
    const uint32_t req = CreatedRequest();
    ops = {MakeOp(OpCode::kObjectDelete, {{"obj", req}}), MakeOp(OpCode::kRequestCancelSent, {{"req", req}})};
    expected_rules = {"InvalidHandle"};
    expect_bugcheck = true;
  }
};

// The end of a run: cancel what is in flight, let time pass, give back the
// presented request, reuse and delete the rest.
std::vector<Op> Drain(const State& s) {
  std::vector<Op> ops;
  for (uint32_t t : {0u, 1u}) {
    if (s.used[t]) ops.push_back(MakeOp(OpCode::kTargetStart, {{"target", t}}));
  }
  for (uint32_t r : {2u, 3u, kPresentedSlot}) {
    if (s.used[r]) ops.push_back(MakeOp(OpCode::kRequestCancelSent, {{"req", r}}));
  }
  ops.push_back(MakeOp(OpCode::kAdvanceTime, {{"ticks", 200 * kTicksPerMs}}));
  for (uint32_t r : {2u, 3u}) {
    if (!s.used[r]) continue;
    ops.push_back(MakeOp(OpCode::kRequestReuse, {{"req", r}, {"status", S(STATUS_SUCCESS)}}));
    ops.push_back(MakeOp(OpCode::kObjectDelete, {{"obj", r}}));
  }
  for (uint32_t m : {5u, 6u}) {
    if (s.used[m]) ops.push_back(MakeOp(OpCode::kObjectDelete, {{"obj", m}}));
  }
  return ops;
}

template <typename... Commands>
void CheckStateful(bool misuse) {
  const State initial;
  Sut sut;
  const auto commands =
      *rc::gen::resize(12, rc::state::gen::commands(initial, rc::state::gen::execOneOfWithArgs<Commands...>()));
  rc::state::runAll(commands, initial, sut);
  State end = initial;
  for (const auto& command : commands) command->apply(end);
  if (end.stopped) return;
  // The drain's ops on objects still there (the model says which handles are
  // live); then the presented request, if still owned, is completed.
  Program program = sut.program;
  std::vector<Op> drain = Drain(end);
  drain.push_back(MakeOp(OpCode::kRequestComplete, {{"req", kPresentedSlot}, {"status", S(STATUS_CANCELLED)}}));
  Prediction predicted = PredictDetailed(program);
  for (const Op& op : drain) {
    program.ops.push_back(op);
    const Prediction next = PredictDetailed(program);
    const OpOutcome& last = next.outcome.ops.back();
    const bool pointless = op.code == OpCode::kRequestComplete && !last.rules.empty();  // already completed
    if (last.bugcheck || pointless) {
      program.ops.pop_back();
    } else {
      predicted = next;
    }
  }
  RC_CLASSIFY(predicted.unmodelled != 0u, "drain outside the model");
  if (predicted.unmodelled != 0u) return;
  const program::RunResult core = program::Run(program);
  const std::string diff = Disagreement(program, core, predicted);
  if (!diff.empty()) RC_FAIL("drain: " + diff + "\n" + program::ToText(program));
  RC_ASSERT(core.outcome.teardown.executed);
  // Each accepted send's routine ran exactly once; each presented request was
  // completed exactly once; no memory reference is left.
  RC_ASSERT(core.completion_calls == core.accepted_sends);
  for (const auto& presented : core.outcome.presented) RC_ASSERT(presented.completions == 1u);
  for (const model::ObjectSnapshot& o : predicted.objects) {
    if (o.memory || o.id != 0) RC_ASSERT(!o.alive);
  }
  if (!misuse) {
    for (const OpOutcome& op : core.outcome.ops) {
      for (const std::string& rule : op.rules) RC_ASSERT(rule == "SyncReqSend");  // a lint: no timeout
    }
    RC_ASSERT(core.outcome.teardown.rules.empty());
  }
}

RC_GTEST_PROP(SendStateful, ValidRunsAreBalancedAndCompleteOnce, ()) {
  CheckStateful<CreateTarget, CreateObjects, Present, Format, Send, CancelSent, Reuse, ChangeTarget, SyncSend,
                TargetControl, Time, Query>(false);
}

RC_GTEST_PROP(SendStateful, EachMisuseGetsExactlyItsRule, ()) {
  CheckStateful<CreateTarget, CreateObjects, Present, Format, Send, CancelSent, Reuse, SyncSend, TargetControl, Time,
                SendWhileInFlight, SyncAtDispatch, BadSendOptions, UseStaleRequest>(true);
}

}  // namespace
}  // namespace wdfsim::properties
