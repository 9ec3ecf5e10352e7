// The core's IRP layer (through the interpreter, choices cleared) against the
// independent IRP lifetime model (model/irp_model.h): arbitrary programs in
// the model's domain, misuse included; stateful runs whose commands come
// from the model's state, ending with the lifetime invariants; and named
// SEMANTICS-WDM part C cases.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "interpreter.h"
#include "model/irp_model.h"
#include "program/outcome.h"
#include "program/program.h"
#include "wdfsim/ntstatus.h"

namespace wdfsim::program {
void showValue(const Program& program, std::ostream& os) { os << "\n" << ToText(program); }
void showValue(const Op& op, std::ostream& os) { os << "\n  " << OpToText(op); }
}  // namespace wdfsim::program

namespace wdfsim::properties {
namespace {

using model::IrpModel;
using model::PredictIrps;
using program::Op;
using program::OpCode;
using program::OpOutcome;
using program::Program;
using program::RunOutcome;

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }

RunOutcome RunCore(Program program) {
  program.choices.clear();
  return program::Run(program).outcome;
}

bool Has(const OpOutcome& outcome, const std::string& rule) {
  return std::find(outcome.rules.begin(), outcome.rules.end(), rule) != outcome.rules.end();
}
bool HasAnywhere(const RunOutcome& outcome, const std::string& rule) {
  return Has(outcome.teardown, rule) ||
         std::any_of(outcome.ops.begin(), outcome.ops.end(), [&](const OpOutcome& o) { return Has(o, rule); });
}

// ---------------------------------------------------------------------------
// Generators: ops over a few slots, weighted towards the IRP protocol.

rc::Gen<uint32_t> GenStatus() {
  return rc::gen::weightedOneOf<uint32_t>({
      {6, rc::gen::just(S(STATUS_SUCCESS))},
      {4, rc::gen::element(S(STATUS_BUFFER_OVERFLOW), S(STATUS_DEVICE_DATA_ERROR), S(STATUS_CANCELLED),
                           S(STATUS_UNSUCCESSFUL))},
      {1, rc::gen::element(S(STATUS_PENDING), 0xFFFFFFFFu)},
  });
}

Op MakeOp(OpCode code, const std::vector<std::pair<const char*, uint32_t>>& args) {
  Op op;
  op.code = code;
  for (const auto& [name, value] : args) op.set_arg(name, value);
  return op;
}

rc::Gen<Op> GenIrpOp() {
  using rc::gen::inRange;
  const auto irp = [] { return *inRange<uint32_t>(0, 3); };
  const auto dev = [] { return *inRange<uint32_t>(0, 3); };
  const auto flag = [] { return *rc::gen::weightedElement<uint32_t>({{3, 1}, {1, 0}}); };
  return rc::gen::exec([=]() -> Op {
    switch (*rc::gen::weightedElement<int>({{3, 0},
                                            {2, 1},
                                            {3, 2},
                                            {1, 3},
                                            {2, 4},
                                            {3, 5},
                                            {5, 6},
                                            {3, 7},
                                            {2, 8},
                                            {1, 9},
                                            {1, 10},
                                            {3, 11},
                                            {2, 12},
                                            {1, 13},
                                            {2, 14},
                                            {1, 15},
                                            {1, 16}})) {
      case 0:
        return MakeOp(OpCode::kWdmLowerDevice, {{"dst", dev()},
                                                {"answer", *inRange<uint32_t>(1, 4)},
                                                {"status", *GenStatus()},
                                                {"information", *inRange<uint32_t>(0, 32)},
                                                {"delay_ms", *rc::gen::element<uint32_t>(0, 1, 5, 10)},
                                                {"on_cancel", *inRange<uint32_t>(0, 3)},
                                                {"dispatch_level", *inRange<uint32_t>(0, 2)},
                                                {"io_type", *inRange<uint32_t>(0, 3)},
                                                {"stack_size", *rc::gen::element<uint32_t>(1, 1, 2, 0)}});
      case 1:
        return MakeOp(OpCode::kWdmFilterDevice, {{"dst", dev()},
                                                 {"lower", dev()},
                                                 {"dispatch", *inRange<uint32_t>(0, 6)},
                                                 {"status", *GenStatus()},
                                                 {"information", *inRange<uint32_t>(0, 32)},
                                                 {"arrive", irp()},
                                                 {"cancel_routine", *inRange<uint32_t>(0, 2)},
                                                 {"mark", flag()}});
      case 2:
        return MakeOp(*rc::gen::element(OpCode::kIrpBuildSync, OpCode::kIrpBuildAsync),
                      {{"dst", irp()},
                       {"major", *inRange<uint32_t>(0, 4)},
                       {"device", dev()},
                       {"length", *rc::gen::element<uint32_t>(0, 16)}});
      case 3:
        return MakeOp(OpCode::kIrpBuildIoctl, {{"dst", irp()},
                                               {"device", dev()},
                                               {"method", *inRange<uint32_t>(0, 4)},
                                               {"internal", *inRange<uint32_t>(0, 2)},
                                               {"input_length", *rc::gen::element<uint32_t>(0, 8)},
                                               {"output_length", *rc::gen::element<uint32_t>(0, 8)}});
      case 4: return MakeOp(OpCode::kIrpAllocate, {{"dst", irp()}, {"stack_size", *inRange<uint32_t>(1, 4)}});
      case 5:
        return MakeOp(OpCode::kIrpSetCompletion, {{"irp", irp()},
                                                  {"routine", *inRange<uint32_t>(1, 6)},
                                                  {"success", flag()},
                                                  {"error", flag()},
                                                  {"cancel", flag()}});
      case 6: return MakeOp(OpCode::kIoCallDriver, {{"irp", irp()}, {"device", dev()}});
      case 7:
        return MakeOp(OpCode::kIoComplete,
                      {{"irp", irp()}, {"status", *GenStatus()}, {"information", *inRange<uint32_t>(0, 16)}});
      case 8: return MakeOp(OpCode::kIoCancel, {{"irp", irp()}});
      case 9: return MakeOp(OpCode::kIrpSetCancelRoutine, {{"irp", irp()}, {"set", flag()}});
      case 10: return MakeOp(OpCode::kIrpMarkPending, {{"irp", irp()}});
      case 11:
        return MakeOp(OpCode::kIrpWait, {{"irp", irp()},
                                         {"timeout_ms", *rc::gen::element<uint32_t>(0, 1, 3, static_cast<uint32_t>(-2),
                                                                                    static_cast<uint32_t>(-20))},
                                         {"infinite", *inRange<uint32_t>(0, 2)}});
      case 12: return MakeOp(*rc::gen::element(OpCode::kIrpReadIosb, OpCode::kIrpReadEvent), {{"irp", irp()}});
      case 13: return MakeOp(OpCode::kIrpFree, {{"irp", irp()}});
      case 14: return MakeOp(OpCode::kAdvanceTime, {{"ticks", *rc::gen::element<uint32_t>(0, 10000, 50000, 200000)}});
      case 15:
        return *rc::gen::element(MakeOp(OpCode::kRunReadyWork, {}),
                                 MakeOp(OpCode::kPassTime, {{"ticks", *rc::gen::element<uint32_t>(10000, 60000)}}));
      default: return MakeOp(OpCode::kUnload, {});
    }
  });
}

// The ops the model accepts, in order: raw ops it would refuse are dropped,
// so the program stays in the domain (and shrinks with the raw list).
Program InDomain(const std::vector<Op>& raw) {
  Program program;
  IrpModel model;
  for (const Op& op : raw) {
    if (model.stopped()) break;
    IrpModel next = model;
    OpOutcome outcome;
    if (!next.Step(op, outcome)) continue;
    model = next;
    program.ops.push_back(op);
  }
  return program;
}

void ExpectAgreement(const Program& program) {
  std::optional<RunOutcome> predicted = PredictIrps(program);
  RC_ASSERT(predicted.has_value());
  const RunOutcome core = RunCore(program);
  const std::string diff = predicted->Diff(core);
  if (!diff.empty()) RC_FAIL("model vs core: " + diff);
}

// (a) Arbitrary programs in the domain, misuse included.
RC_GTEST_PROP(IrpAgreement, CoreMatchesModelOnArbitraryPrograms, ()) {
  const auto raw = *rc::gen::container<std::vector<Op>>(GenIrpOp());
  const Program program = InDomain(raw);
  RC_CLASSIFY(std::any_of(program.ops.begin(), program.ops.end(),
                          [](const Op& op) { return op.code == OpCode::kIoCallDriver; }),
              "sends");
  const auto predicted = PredictIrps(program);
  RC_PRE(predicted.has_value());  // its teardown can still leave the domain
  const bool bugcheck =
      std::any_of(predicted->ops.begin(), predicted->ops.end(), [](const OpOutcome& o) { return o.bugcheck; }) ||
      predicted->teardown.bugcheck;
  RC_CLASSIFY(bugcheck, "bug check");
  ExpectAgreement(program);
}

// ---------------------------------------------------------------------------
// (b) Stateful: commands are IRP ops the model accepts; each step is
// checked against the core, and the end of the run against the invariants.

struct Model {
  IrpModel irps;
};
struct Sut {
  Program program;
};
using Command = rc::state::Command<Model, Sut>;

struct IrpCommand : Command {
  Op op;
  explicit IrpCommand(const Model&) : op(*GenIrpOp()) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.irps.stopped() && op.code != OpCode::kUnload);
    IrpModel next = m.irps;
    OpOutcome outcome;
    RC_PRE(next.Step(op, outcome));
  }
  void apply(Model& m) const override {
    OpOutcome outcome;
    m.irps.Step(op, outcome);
  }
  void run(const Model& m, Sut& sut) const override {
    IrpModel next = m.irps;
    OpOutcome predicted;
    next.Step(op, predicted);
    sut.program.ops.push_back(op);
    const RunOutcome core = RunCore(sut.program);
    const OpOutcome& observed = core.ops.back();
    if (!(observed == predicted)) {
      RC_FAIL("op " + program::OpToText(op) + ": model " + predicted.ToString() + ", core " + observed.ToString());
    }
  }
  void show(std::ostream& os) const override { os << program::OpToText(op); }
};

RC_GTEST_PROP(IrpStateful, EveryIrpFreedOnceAndThreadListEmptyAtTeardown, ()) {
  const Model initial;
  Sut sut;
  const auto commands =
      *rc::gen::resize(25, rc::state::gen::commands(initial, rc::state::gen::execOneOfWithArgs<IrpCommand>()));
  rc::state::runAll(commands, initial, sut);
  Model end = initial;
  rc::state::applyAll(commands, end);
  const RunOutcome core = RunCore(sut.program);
  OpOutcome teardown;
  IrpModel& model = end.irps;
  if (!model.stopped()) RC_ASSERT(model.Teardown(teardown));
  if (!model.stopped() || !teardown.executed) return;
  if (!(teardown == core.teardown))
    RC_FAIL("teardown: model " + teardown.ToString() + ", core " + core.teardown.ToString());
  // The model's own invariants, which hold in every run it accepts.
  for (const IrpModel::Irp& irp : model.irps()) {
    RC_ASSERT(irp.frees <= 1u);
    RC_ASSERT(irp.completions <= 1u);
    RC_ASSERT(!(irp.threaded() && irp.frees == 1 && irp.on_thread_list));
  }
  const bool clean = model.violations() == 0 && !teardown.bugcheck;
  RC_CLASSIFY(clean, "valid run");
  if (!clean) return;
  // A valid run: every IRP freed exactly once, nothing left on the thread
  // list, and the core's reports agree.
  for (const IrpModel::Irp& irp : model.irps()) {
    RC_ASSERT(irp.frees == 1u);
    RC_ASSERT(!irp.on_thread_list);
  }
  RC_ASSERT(!HasAnywhere(core, "IrpDoubleFree"));
  RC_ASSERT(!HasAnywhere(core, "IrpLeak"));
  RC_ASSERT(!HasAnywhere(core, "IrpFreedOnThreadList"));
  RC_ASSERT(!Has(core.teardown, "IoBuildSynchronousFsdRequestWait"));
}

// ---------------------------------------------------------------------------
// (c) SEMANTICS-WDM part C cases both must get right.

RunOutcome Case(const std::string& body) {
  const auto parsed = program::ParseText("wdfsim-program 1\n" + body);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  std::optional<RunOutcome> predicted = PredictIrps(*parsed);
  EXPECT_TRUE(predicted.has_value()) << "outside the model's domain";
  const RunOutcome core = RunCore(*parsed);
  if (predicted) {
    EXPECT_EQ(predicted->Diff(core), "");
  }
  return core;
}

constexpr const char* kInlineRead =
    "wdm_lower_device dst=d0 answer=inline status=%s information=8 io_type=buffered stack_size=1\n"
    "irp_build_sync dst=i0 major=read device=d0 length=16\n"
    "io_call_driver irp=i0 device=d0\n"
    "irp_read_iosb irp=i0\n"
    "irp_read_event irp=i0\n";

std::string WithStatus(const char* format, const char* status) {
  std::string text = format;
  text.replace(text.find("%s"), 2, status);
  return text;
}

TEST(IrpCases, C4InlineSuccessWritesIosbSignalsAndFrees) {
  const RunOutcome o = Case(WithStatus(kInlineRead, "STATUS_SUCCESS"));
  EXPECT_EQ(o.ops[2].status, S(STATUS_SUCCESS));
  EXPECT_EQ(o.ops[3].status, S(STATUS_SUCCESS));
  EXPECT_EQ(o.ops[3].value, 8u);
  EXPECT_EQ(o.ops[4].value, 1u);
  EXPECT_TRUE(o.teardown.rules.empty());
}

TEST(IrpCases, C5InlineErrorLeavesIosbAndEventAlone) {
  const RunOutcome o = Case(WithStatus(kInlineRead, "STATUS_DEVICE_DATA_ERROR"));
  EXPECT_EQ(o.ops[2].status, S(STATUS_DEVICE_DATA_ERROR));
  EXPECT_EQ(o.ops[3].status, 0xDEADBEEFu);
  EXPECT_EQ(o.ops[4].value, 0u);
  EXPECT_TRUE(o.teardown.rules.empty());  // freed all the same
}

TEST(IrpCases, C6PendedErrorWritesIosbAndSignals) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=pend status=STATUS_DEVICE_DATA_ERROR delay_ms=1 stack_size=1\n"
      "irp_build_sync dst=i0 major=read device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n"
      "irp_read_event irp=i0\n"
      "irp_wait irp=i0 timeout_ms=-5\n"
      "irp_read_iosb irp=i0\n");
  EXPECT_EQ(o.ops[2].status, S(STATUS_PENDING));
  EXPECT_EQ(o.ops[3].value, 0u);  // C10: not yet signalled
  EXPECT_EQ(o.ops[4].status, S(STATUS_SUCCESS));
  EXPECT_EQ(o.ops[5].status, S(STATUS_DEVICE_DATA_ERROR));
  EXPECT_TRUE(o.teardown.rules.empty());
}

TEST(IrpCases, C7InlineWarningWritesIosb) {
  const RunOutcome o = Case(WithStatus(kInlineRead, "STATUS_BUFFER_OVERFLOW"));
  EXPECT_EQ(o.ops[3].status, S(STATUS_BUFFER_OVERFLOW));
  EXPECT_EQ(o.ops[4].value, 1u);
}

TEST(IrpCases, C11PendingNeverWaitedIsReportedAtTeardown) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=pend status=STATUS_SUCCESS delay_ms=1 stack_size=1\n"
      "irp_build_sync dst=i0 major=flush device=d0 length=0\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.teardown.rules, (std::vector<std::string>{"IoBuildSynchronousFsdRequestWait", "IrpLeak"}));
}

TEST(IrpCases, C12InfiniteWaitIsALintAndAHangIsLiveness) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=forever status=STATUS_SUCCESS stack_size=1\n"
      "irp_build_sync dst=i0 major=read device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n"
      "irp_wait irp=i0 infinite=1\n");
  EXPECT_TRUE(Has(o.ops[3], "IoBuildSynchronousFsdRequestWaitTimeout"));
  EXPECT_TRUE(Has(o.ops[3], "Liveness"));
  EXPECT_TRUE(o.ops[3].bugcheck);
}

TEST(IrpCases, C13FreeingASyncIrp) {
  RunOutcome o = Case(WithStatus(kInlineRead, "STATUS_SUCCESS") + "irp_free irp=i0\n");
  EXPECT_EQ(o.ops[5].rules, (std::vector<std::string>{"IoBuildSynchronousFsdRequestNoFree", "IrpDoubleFree"}));
  o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_SUCCESS stack_size=1\n"
      "irp_build_sync dst=i0 major=read device=d0 length=16\n"
      "irp_free irp=i0\n");
  EXPECT_EQ(o.ops[2].rules, (std::vector<std::string>{"IoBuildSynchronousFsdRequestNoFree", "IrpFreedOnThreadList"}));
}

TEST(IrpCases, C14And15MoreProcessingThenTwoCompletions) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_SUCCESS information=4 stack_size=1\n"
      "irp_build_sync dst=i0 major=read device=d0 length=16\n"
      "irp_set_completion irp=i0 routine=more success=1 error=1 cancel=1\n"
      "io_call_driver irp=i0 device=d0\n"
      "irp_read_event irp=i0\n"
      "io_complete irp=i0 status=STATUS_SUCCESS information=4\n"
      "irp_read_iosb irp=i0\n"
      "io_complete irp=i0 status=STATUS_SUCCESS information=4\n");
  EXPECT_EQ(o.ops[3].callbacks.size(), 1u);
  EXPECT_EQ(o.ops[4].value, 0u);  // C15: not signalled after MPR
  EXPECT_EQ(o.ops[6].status, S(STATUS_SUCCESS));
  EXPECT_TRUE(o.ops[7].bugcheck);  // freed by then: a use after free
}

TEST(IrpCases, C14DoubleCompletionWhileTheApcIsQueued) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=pend status=STATUS_SUCCESS delay_ms=1 stack_size=1\n"
      "wdm_lower_device dst=d1 answer=pend status=STATUS_SUCCESS delay_ms=1 stack_size=1\n"
      "irp_build_sync dst=i0 major=read device=d0 length=16\n"
      "irp_build_sync dst=i1 major=read device=d1 length=16\n"
      "io_call_driver irp=i0 device=d0\n"
      "io_call_driver irp=i1 device=d1\n"
      "irp_wait irp=i0 timeout_ms=-5\n"
      "io_complete irp=i1 status=STATUS_SUCCESS information=0\n");
  EXPECT_EQ(o.ops[7].rules, (std::vector<std::string>{"DoubleIrpCompletion"}));
}

TEST(IrpCases, C16And17CompletionChecks) {
  RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_PENDING stack_size=1\n"
      "irp_build_async dst=i0 major=write device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.ops[2].rules, (std::vector<std::string>{"CompleteRequestStatusCheck"}));
  o = Case(
      "wdm_lower_device dst=d0 answer=forever status=STATUS_SUCCESS on_cancel=cancelled stack_size=1\n"
      "irp_build_async dst=i0 major=write device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n"
      "io_complete irp=i0 status=STATUS_SUCCESS information=0\n");
  EXPECT_EQ(o.ops[3].rules, (std::vector<std::string>{"CompleteWithCancelRoutine"}));
}

TEST(IrpCases, C18And19CancelReturnsWhetherARoutineRan) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=forever status=STATUS_SUCCESS on_cancel=cancelled stack_size=1\n"
      "wdm_filter_device dst=d1 lower=d0 dispatch=pend arrive=i1 cancel_routine=1\n"
      "irp_build_async dst=i0 major=read device=d1 length=16\n"
      "irp_set_completion irp=i0 routine=more success=1 error=1 cancel=1\n"
      "io_cancel irp=i0\n"
      "io_cancel irp=i0\n"
      "io_call_driver irp=i0 device=d1\n"
      "io_complete irp=i0 status=STATUS_SUCCESS information=0\n"
      "irp_build_sync dst=i2 major=read device=d1 length=16\n"
      "irp_set_completion irp=i2 routine=more success=1 error=1 cancel=1\n"
      "io_call_driver irp=i2 device=d1\n"
      "io_cancel irp=i2\n"
      "io_cancel irp=i2\n"
      "io_complete irp=i2 status=STATUS_CANCELLED information=0\n"
      "irp_wait irp=i2 timeout_ms=0\n"
      "irp_read_iosb irp=i2\n");
  EXPECT_EQ(o.ops[4].value, 0u);  // C18: no routine, FALSE twice
  EXPECT_EQ(o.ops[5].value, 0u);
  EXPECT_EQ(o.ops[6].callbacks.size(), 1u);   // cancelled before: completed at arrival
  EXPECT_EQ(o.ops[11].value, 1u);             // C19: the routine ran
  EXPECT_EQ(o.ops[11].callbacks.size(), 2u);  // the cancel routine, then the creator's
  EXPECT_EQ(o.ops[12].value, 0u);             // and not again
  EXPECT_EQ(o.ops[14].status, S(STATUS_SUCCESS));
  EXPECT_EQ(o.ops[15].status, S(STATUS_CANCELLED));
  EXPECT_TRUE(o.teardown.rules.empty());
}

TEST(IrpCases, C22InvokeFlagsOnACancelledIrp) {
  for (const char* flags : {"success=1 error=0 cancel=1", "success=1 error=1 cancel=0", "success=1 error=0 cancel=0"}) {
    const RunOutcome o = Case(std::string("wdm_lower_device dst=d0 answer=forever on_cancel=cancelled stack_size=1\n"
                                          "irp_allocate dst=i0 stack_size=1\n"
                                          "irp_set_completion irp=i0 routine=free_more ") +
                              flags +
                              "\n"
                              "io_call_driver irp=i0 device=d0\n"
                              "io_cancel irp=i0\n");
    EXPECT_EQ(o.ops[4].callbacks.size(), std::string(flags) == "success=1 error=0 cancel=0" ? 0u : 1u) << flags;
  }
}

TEST(IrpCases, C23TwoLevelStackPropagatesPending) {
  for (const char* mark : {"mark=1", "mark=0"}) {
    const RunOutcome o =
        Case(std::string("wdm_lower_device dst=d0 answer=pend status=STATUS_SUCCESS delay_ms=1 stack_size=1\n"
                         "wdm_filter_device dst=d1 lower=d0 dispatch=forward ") +
             mark +
             "\n"
             "irp_build_sync dst=i0 major=read device=d1 length=16\n"
             "io_call_driver irp=i0 device=d1\n"
             "irp_wait irp=i0 timeout_ms=-5\n");
    EXPECT_EQ(o.ops[4].bugcheck, std::string(mark) == "mark=0") << mark;
  }
}

TEST(IrpCases, C24MarkedPendingMustReturnPending) {
  RunOutcome o = Case(
      "wdm_filter_device dst=d0 dispatch=mark_success status=STATUS_SUCCESS\n"
      "irp_build_async dst=i0 major=read device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.ops[2].rules, (std::vector<std::string>{"MarkIrpPending"}));
  o = Case(
      "wdm_filter_device dst=d0 dispatch=pend_unmarked arrive=i1\n"
      "irp_build_async dst=i0 major=read device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.ops[2].rules, (std::vector<std::string>{"MarkIrpPending2"}));
}

TEST(IrpCases, C26AllocatedIrpMustBeFreedByItsRoutine) {
  RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_SUCCESS stack_size=1\n"
      "irp_allocate dst=i0 stack_size=1\n"
      "irp_set_completion irp=i0 routine=continue success=1 error=1 cancel=1\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.ops[3].rules, (std::vector<std::string>{"IoAllocateComplete"}));
  o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_SUCCESS stack_size=1\n"
      "irp_allocate dst=i0 stack_size=1\n"
      "irp_set_completion irp=i0 routine=free_more success=1 error=1 cancel=1\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_TRUE(o.ops[3].rules.empty());
  EXPECT_TRUE(o.teardown.rules.empty());
}

TEST(IrpCases, C27AsyncIrpIsFreedByTheIoManager) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=inline status=STATUS_SUCCESS information=7 stack_size=1\n"
      "irp_build_async dst=i0 major=write device=d0 length=16\n"
      "io_call_driver irp=i0 device=d0\n"
      "irp_read_iosb irp=i0\n"
      "irp_free irp=i0\n");
  EXPECT_EQ(o.ops[3].value, 7u);
  EXPECT_EQ(o.ops[4].rules, (std::vector<std::string>{"IrpDoubleFree"}));
}

TEST(IrpCases, C28NoStackLocationLeft) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d0 answer=forever on_cancel=ignore stack_size=1\n"
      "irp_allocate dst=i0 stack_size=1\n"
      "io_call_driver irp=i0 device=d0\n"
      "io_call_driver irp=i0 device=d0\n");
  EXPECT_EQ(o.ops[3].rules, (std::vector<std::string>{"NoMoreIrpStackLocations"}));
}

// Another driver completes an IRP the lower device still holds, and its
// routine stops the walk (STATUS_MORE_PROCESSING_REQUIRED). The lower device
// cannot tell: its own IoCompleteRequest later finds the IRP back at its
// creator and the I/O manager's final step runs (IOSB written, event set),
// no bug check. The model once called this IrpInUse (RapidCheck, 1 in ~10^4).
TEST(IrpCases, LowerDeviceCompletesAnIrpAnotherDriverStoppedAtItsCreator) {
  const RunOutcome o = Case(
      "wdm_lower_device dst=d1 answer=pend status=STATUS_SUCCESS information=4 delay_ms=10 on_cancel=ignore "
      "stack_size=1\n"
      "irp_build_sync dst=i1 major=read device=d1 length=16\n"
      "irp_set_completion irp=i1 routine=signal_more success=1 error=1 cancel=1\n"
      "io_call_driver irp=i1 device=d1\n"
      "io_complete irp=i1 status=STATUS_DEVICE_DATA_ERROR information=0\n"
      "advance_time ticks=200000\n"
      "irp_read_iosb irp=i1\n");
  EXPECT_EQ(o.ops[4].callbacks.size(), 1u);  // the routine ran for the other driver's completion
  EXPECT_FALSE(o.ops[5].bugcheck);
  EXPECT_TRUE(o.ops[5].rules.empty());
}

}  // namespace
}  // namespace wdfsim::properties
