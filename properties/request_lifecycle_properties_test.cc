// RapidCheck properties: the core (through the interpreter) against the
// independent reference model, on arbitrary programs (misuse included) and
// in stateful runs built from the model's preconditions.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

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

using model::kKnownCoreDeviations;
using model::PredictDetailed;
using model::Prediction;
using model::PredictOptions;
using program::ArgKind;
using program::Op;
using program::OpCode;
using program::OpOutcome;
using program::Program;
using program::RunOutcome;

constexpr uint32_t S(NTSTATUS status) { return static_cast<uint32_t>(status); }

// ---------------------------------------------------------------------------
// Generators for arbitrary programs.

rc::Gen<uint32_t> GenStatus() {
  return rc::gen::weightedOneOf<uint32_t>({
      {6, rc::gen::just(S(STATUS_SUCCESS))},
      {6, rc::gen::element(S(STATUS_PENDING), S(STATUS_BUFFER_OVERFLOW), S(STATUS_UNSUCCESSFUL), S(STATUS_CANCELLED),
                           S(STATUS_INVALID_PARAMETER), S(STATUS_WDF_QUEUED), S(STATUS_WDF_PAUSED), S(STATUS_WDF_BUSY),
                           S(STATUS_WDF_INTERNAL_ERROR), S(STATUS_WDF_TOO_FRAGMENTED),
                           S(STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS), S(STATUS_WDF_REQUEST_INVALID_STATE), 0xFFFFFFFFu,
                           0x00200000u)},
      {1, rc::gen::arbitrary<uint32_t>()},
  });
}

rc::Gen<uint32_t> GenSmall() {
  return rc::gen::weightedOneOf<uint32_t>({
      {8, rc::gen::inRange<uint32_t>(0, 33)},
      {1, rc::gen::element(0xFFu, 0x100u, 0xFFFFu)},
      {1, rc::gen::inRange<uint32_t>(0, 0x10000)},
  });
}

rc::Gen<uint32_t> GenArg(const program::ArgSpec& spec) {
  switch (spec.kind) {
    case ArgKind::kSlot: return rc::gen::inRange<uint32_t>(0, 4);
    case ArgKind::kHandle:
      return rc::gen::weightedOneOf<uint32_t>({
          {24, rc::gen::inRange<uint32_t>(0, 4)},
          {1, rc::gen::just<uint32_t>(program::kNullHandle)},
          {1, rc::gen::just<uint32_t>(program::kDriverHandle)},
          {1, rc::gen::just<uint32_t>(program::kBogusHandle)},
      });
    case ArgKind::kStatus: return GenStatus();
    case ArgKind::kU16:
    case ArgKind::kU32: return GenSmall();
    case ArgKind::kAttrs:
      return rc::gen::weightedOneOf<uint32_t>({
          {6, rc::gen::inRange<uint32_t>(0, 8)},  // callbacks and context only: valid
          {1, rc::gen::inRange<uint32_t>(0, program::kAttrMask + 1)},
      });
    case ArgKind::kIrql:
      return rc::gen::weightedOneOf<uint32_t>({{3, rc::gen::just<uint32_t>(0)}, {1, rc::gen::inRange<uint32_t>(0, 3)}});
    default: return rc::gen::inRange<uint32_t>(0, 0x100);  // Normalize reduces it
  }
}

rc::Gen<OpCode> GenOpCode() {
  std::vector<OpCode> weighted;  // each code repeated by its weight
  for (uint32_t c = 0; c < program::kLifecycleOpCount; ++c) {
    const auto code = static_cast<OpCode>(c);
    uint32_t weight = 2;
    if (code == OpCode::kPresent || code == OpCode::kMemoryCreate) weight = 6;
    if (code == OpCode::kObjectReference || code == OpCode::kObjectDereference || code == OpCode::kObjectDelete ||
        code == OpCode::kRequestComplete || code == OpCode::kRequestCompleteWithInformation ||
        code == OpCode::kRequestRetrieveInputMemory || code == OpCode::kRequestRetrieveOutputMemory ||
        code == OpCode::kRequestCreate) {
      weight = 4;
    }
    if (code == OpCode::kUnload) weight = 1;
    weighted.insert(weighted.end(), weight, code);
  }
  return rc::gen::elementOf(weighted);
}

rc::Gen<Op> GenOp() {
  return rc::gen::mapcat(GenOpCode(), [](OpCode code) {
    const program::OpSpec& spec = program::GetOpSpec(code);
    std::vector<rc::Gen<uint32_t>> gens;
    for (const auto& arg : spec.args) gens.push_back(GenArg(arg));
    return rc::gen::map(rc::gen::exec([gens] {
                          std::vector<uint32_t> values;
                          for (const auto& g : gens) values.push_back(*g);
                          return values;
                        }),
                        [code](const std::vector<uint32_t>& values) {
                          Op op;
                          op.code = code;
                          for (size_t i = 0; i < values.size(); ++i) op.args[i] = values[i];
                          return program::Normalize(op);
                        });
  });
}

rc::Gen<Program> GenProgram() {
  return rc::gen::map(
      rc::gen::pair(rc::gen::mapcat(rc::gen::inRange<size_t>(0, 31),
                                    [](size_t n) { return rc::gen::container<std::vector<Op>>(n, GenOp()); }),
                    rc::gen::container<std::vector<uint8_t>>(rc::gen::inRange<uint8_t>(0, 4))),
      [](const std::pair<std::vector<Op>, std::vector<uint8_t>>& parts) {
        Program program;
        program.ops = parts.first;
        program.choices = parts.second;
        return program;
      });
}

// Programs that mostly keep running: each op is drawn up to 8 times until the
// model says it does not bug-check (the last draw is kept whatever it does),
// so misuse stays in, but rarely ends the run at the first op.
rc::Gen<Program> GenRunningProgram() {
  return rc::gen::exec([] {
    Program program;
    const size_t n = *rc::gen::inRange<size_t>(1, 31);
    for (size_t i = 0; i < n; ++i) {
      const bool allow_bugcheck = *rc::gen::inRange(0, 40) == 0;
      for (int attempt = 0; attempt < 8; ++attempt) {
        program.ops.push_back(*GenOp());
        const Prediction predicted = PredictDetailed(program);
        if (allow_bugcheck || attempt == 7 || !predicted.outcome.ops.back().bugcheck) break;
        program.ops.pop_back();
      }
      if (program.ops.empty()) continue;
      if (program.ops.back().code == OpCode::kUnload || model::Predict(program).ops.back().bugcheck) break;
    }
    program.choices = *rc::gen::container<std::vector<uint8_t>>(rc::gen::inRange<uint8_t>(0, 4));
    return program;
  });
}

bool NoReports(const RunOutcome& outcome) {
  for (const OpOutcome& op : outcome.ops) {
    if (!op.rules.empty()) return false;
  }
  return outcome.teardown.rules.empty();
}

// ---------------------------------------------------------------------------
// Model and core agree.

// With WDFSIM_PROPERTIES_LAST set, each program is written there before it
// runs, so a core crash (not a property failure) leaves its input behind.
void NoteProgram(const Program& program) {
  static const char* path = std::getenv("WDFSIM_PROPERTIES_LAST");
  if (path == nullptr) return;
  std::ofstream(path, std::ios::trunc) << program::ToText(program);
}

void CheckAgreement(const Program& program) {
  RC_CLASSIFY(PredictDetailed(program).hazards != 0u, "Information beyond the buffer (C1)");
  NoteProgram(program);
  const program::RunResult core = program::Run(program);
  const Prediction predicted = PredictDetailed(program, PredictOptions{kKnownCoreDeviations});
  RC_CLASSIFY(predicted.reached != 0, "reaches D1/D2 (fixed in core)");
  RC_CLASSIFY(core.outcome.teardown.executed, "runs to teardown");
  RC_CLASSIFY(core.verdict.bugcheck, "bug-checks");
  RC_CLASSIFY(core.verdict.reports.empty(), "no report");
  if (!(core.outcome == predicted.outcome)) RC_FAIL("core vs model: " + core.outcome.Diff(predicted.outcome));
}

RC_GTEST_PROP(ModelAgreement, CoreMatchesModelOnArbitraryPrograms, ()) { CheckAgreement(*GenProgram()); }

RC_GTEST_PROP(ModelAgreement, CoreMatchesModelOnMostlyRunningPrograms, ()) { CheckAgreement(*GenRunningProgram()); }

// Where a program reaches no known disagreement, the documented semantics
// (the model with no deviation followed) is exactly what the core does.
RC_GTEST_PROP(ModelAgreement, CoreMatchesDocumentedSemanticsAwayFromKnownDisagreements, ()) {
  const Program program = *GenRunningProgram();
  const Prediction documented = PredictDetailed(program);
  RC_PRE(documented.reached == 0u);
  const RunOutcome core = program::Run(program).outcome;
  if (!(core == documented.outcome)) RC_FAIL("core vs docs: " + core.Diff(documented.outcome));
}

RC_GTEST_PROP(Determinism, SameProgramSameTraceHash, ()) {
  const Program program = *GenRunningProgram();
  const program::RunResult first = program::Run(program);
  const program::RunResult second = program::Run(program);
  RC_ASSERT(first.verdict.trace_hash == second.verdict.trace_hash);
  RC_ASSERT(first.verdict.trace_events == second.verdict.trace_events);
  RC_ASSERT(first.outcome == second.outcome);
}

// The choices decide only when the completion APC runs: no op observes them.
RC_GTEST_PROP(Determinism, ChoicesDoNotChangeOutcomes, ()) {
  Program program = *GenRunningProgram();
  const RunOutcome base = program::Run(program).outcome;
  program.choices = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
  const RunOutcome other = program::Run(program).outcome;
  if (!(base == other)) RC_FAIL("choices changed the outcome: " + base.Diff(other));
}

// Disagreements found earlier and since fixed in the core (DISAGREEMENTS.md
// D1, D2, C1): the core must keep following the documented semantics there.
Op MakeOp(OpCode code, std::initializer_list<std::pair<const char*, uint32_t>> args) {
  Op op;
  op.code = code;
  for (const auto& [name, value] : args) op.set_arg(name, value);
  return op;
}

void ExpectCoreFollowsDocs(const Program& program) {
  const RunOutcome documented = model::Predict(program);
  const RunOutcome core = program::Run(program).outcome;
  EXPECT_EQ(core, documented) << core.Diff(documented) << "\n" << program::ToText(program);
}

TEST(FormerDisagreements, D1OverDereferenceOfUnparentedPresentedRequest) {
  Program program;
  program.ops = {MakeOp(OpCode::kPresent, {{"dst", 0}, {"major", 0}, {"length", 8}, {"stack_size", 1}}),
                 MakeOp(OpCode::kObjectDereference, {{"obj", 0}})};
  const Prediction documented = PredictDetailed(program);
  EXPECT_EQ(documented.reached, uint32_t{model::kDevOverDereferenceUnparented});
  EXPECT_FALSE(documented.outcome.ops[1].bugcheck);
  EXPECT_EQ(documented.outcome.teardown.rules, std::vector<std::string>{"RequestCompleted"});
  ExpectCoreFollowsDocs(program);
}

TEST(FormerDisagreements, D2EmbeddedMemoryOfCompletedRequest) {
  Program program;
  program.ops = {MakeOp(OpCode::kPresent, {{"dst", 0}, {"major", 1}, {"length", 8}, {"stack_size", 1}}),
                 MakeOp(OpCode::kRequestRetrieveInputMemory, {{"req", 0}, {"dst", 1}}),
                 MakeOp(OpCode::kObjectReference, {{"obj", 0}}),
                 MakeOp(OpCode::kRequestComplete, {{"req", 0}, {"status", 0}}),
                 MakeOp(OpCode::kMemoryGetBuffer, {{"mem", 1}}),
                 MakeOp(OpCode::kObjectDereference, {{"obj", 0}})};
  const Prediction documented = PredictDetailed(program);
  EXPECT_EQ(documented.reached, uint32_t{model::kDevEmbeddedMemoryWithoutIrp});
  EXPECT_TRUE(documented.outcome.ops[4].bugcheck);
  ExpectCoreFollowsDocs(program);
}

TEST(FormerDisagreements, C1InformationBeyondTheBufferWithAWarning) {
  for (const uint32_t major : {0u, 2u, 3u}) {  // read, ioctl, internal ioctl; buffered
    Program program;
    program.ops = {MakeOp(OpCode::kPresent, {{"dst", 1},
                                             {"major", major},
                                             {"length", 11},
                                             {"input_length", 3},
                                             {"output_length", 5},
                                             {"stack_size", 1}}),
                   MakeOp(OpCode::kRequestCompleteWithInformation,
                          {{"req", 1}, {"status", S(STATUS_BUFFER_OVERFLOW)}, {"information", 65535}}),
                   MakeOp(OpCode::kRunReadyWork, {})};
    EXPECT_EQ(PredictDetailed(program).hazards, uint32_t{model::kHazardInformationBeyondBuffer});
    ExpectCoreFollowsDocs(program);
  }
}

// The driver deletes a presented request (ReqDelete: the framework deletes it
// anyway) holding a reference of its own, then completes it: completion's
// DeleteEarlyDisposedObject drops the second delete, so the driver's reference
// keeps the request alive past unload (found by RapidCheck in CI when the
// core had this and the model still released twice).
TEST(FormerDisagreements, CompletionAfterTheDriversDeleteDropsTheSecondDelete) {
  Program program;
  program.ops = {MakeOp(OpCode::kPresent, {{"dst", 0}, {"major", 0}, {"length", 8}, {"stack_size", 1}}),
                 MakeOp(OpCode::kObjectReference, {{"obj", 0}}), MakeOp(OpCode::kObjectDelete, {{"obj", 0}}),
                 MakeOp(OpCode::kRequestComplete, {{"req", 0}, {"status", 0}})};
  const RunOutcome documented = model::Predict(program);
  EXPECT_EQ(documented.ops[2].rules, std::vector<std::string>{"ReqDelete"});
  EXPECT_TRUE(documented.ops[3].rules.empty());
  EXPECT_EQ(documented.teardown.rules, std::vector<std::string>{"ReferenceLeak"});
  ExpectCoreFollowsDocs(program);
}

// ---------------------------------------------------------------------------
// Stateful: commands append ops to a program; the SUT replays the program
// through the core at each step and compares with the model.

enum class K { kPresented, kMemory, kCreatedRequest };

struct TrackedObject {
  K kind;
  uint32_t id;
  int extra = 0;  // references the driver took and has not released
  bool deleted = false;
  bool gone = false;       // destroyed: its handle is stale
  bool completed = false;  // presented requests
  uint32_t major = 0, length = 0;
  int presented = -1;
};

constexpr uint32_t kObjectSlots = 6;  // h0..h5 name objects
constexpr uint32_t kScratchSlot = 7;  // h7 holds retrieved WDFMEMORY

struct State {
  std::vector<Op> ops;
  std::vector<TrackedObject> objects;
  std::array<int, program::kSlots> slots{-1, -1, -1, -1, -1, -1, -1, -1};
  uint32_t next_id = 0;
  int presented = 0;
  bool stopped = false;  // a misuse bug-checked: later ops are not executed
  bool misused = false;  // a misuse command ran: reports are expected

  // No presented request left uncompleted, no object undeleted, no reference
  // outstanding: a valid program stopped here must have no report at all.
  bool Quiescent() const {
    if (stopped || misused) return false;
    return std::all_of(objects.begin(), objects.end(), [](const TrackedObject& o) {
      if (o.extra != 0) return false;
      return o.kind == K::kPresented ? o.completed : o.deleted;
    });
  }
  const TrackedObject* At(uint32_t slot) const { return slots[slot] < 0 ? nullptr : &objects[slots[slot]]; }
  std::vector<uint32_t> SlotsWhere(bool (*pred)(const TrackedObject&)) const {
    std::vector<uint32_t> out;
    for (uint32_t s = 0; s < kObjectSlots; ++s) {
      if (const TrackedObject* o = At(s); o != nullptr && pred(*o)) out.push_back(s);
    }
    return out;
  }
};

struct Sut {
  Program program;
};

using Command = rc::state::Command<State, Sut>;

struct Step : Command {
  virtual std::vector<Op> Ops() const = 0;
  virtual void Apply(State& s) const = 0;
  // What the command's last op must report.
  virtual std::vector<std::string> ExpectedRules() const { return {}; }
  virtual bool ExpectBugcheck() const { return false; }

  // The command's precondition, also checked when shrinking removes earlier
  // commands.
  virtual bool Valid(const State& s) const = 0;
  void checkPreconditions(const State& s) const override { RC_PRE(Valid(s)); }

  void apply(State& s) const override {
    const bool was_stopped = s.stopped;
    for (const Op& op : Ops()) s.ops.push_back(op);
    if (!ExpectedRules().empty()) s.misused = true;
    if (!was_stopped) Apply(s);
  }

  void run(const State& pre, Sut& sut) const override {
    const std::vector<Op> ops = Ops();
    for (const Op& op : ops) sut.program.ops.push_back(op);
    NoteProgram(sut.program);
    const program::RunResult core = program::Run(sut.program);
    const Prediction predicted = PredictDetailed(sut.program, PredictOptions{kKnownCoreDeviations});
    if (!(core.outcome == predicted.outcome)) RC_FAIL("core vs model: " + core.outcome.Diff(predicted.outcome));

    // References never go negative.
    for (const model::ObjectSnapshot& o : predicted.objects) {
      RC_ASSERT(o.min_references >= 0);
      RC_ASSERT(o.min_irp_references >= 0);
    }
    State post = pre;
    apply(post);
    // The model's counts are the driver's balance: 1 + what it took.
    for (const TrackedObject& t : post.objects) {
      if (post.stopped) break;
      const auto it = std::find_if(predicted.objects.begin(), predicted.objects.end(),
                                   [&](const model::ObjectSnapshot& o) { return o.id == t.id; });
      RC_ASSERT(it != predicted.objects.end());
      RC_ASSERT(it->alive == !t.gone);
      if (!t.gone) {
        const int creation = t.deleted || (t.kind == K::kPresented && t.completed) ? 0 : 1;
        RC_ASSERT(it->references == creation + t.extra);
      }
    }
    // Each presented request is completed at most once, and exactly when the
    // program completed it.
    for (const TrackedObject& t : post.objects) {
      if (t.kind != K::kPresented) continue;
      RC_ASSERT(static_cast<size_t>(t.presented) < core.outcome.presented.size());
      const uint32_t completions = core.outcome.presented[t.presented].completions;
      RC_ASSERT(completions <= 1u);
      if (!post.stopped) RC_ASSERT(completions == (t.completed ? 1u : 0u));
    }
    // The command's own op.
    if (!pre.stopped) {
      const OpOutcome& last = core.outcome.ops.back();
      RC_ASSERT(last.executed);
      RC_ASSERT(last.rules == ExpectedRules());
      RC_ASSERT(last.bugcheck == ExpectBugcheck());
    }
    if (post.Quiescent()) {
      RC_ASSERT(core.verdict.reports.empty());
      RC_ASSERT(NoReports(core.outcome));
    }
  }

  void show(std::ostream& os) const override {
    for (const Op& op : Ops()) os << program::OpToText(op) << "; ";
  }
};

bool SlotIs(const State& s, uint32_t slot, bool (*pred)(const TrackedObject&)) {
  const TrackedObject* o = s.At(slot);
  return o != nullptr && pred(*o);
}
bool SlotFree(const State& s, uint32_t slot) {
  const TrackedObject* o = s.At(slot);
  return o == nullptr || o->gone;
}

uint32_t PickSlot(const std::vector<uint32_t>& candidates) {
  RC_PRE(!candidates.empty());
  return *rc::gen::elementOf(candidates);
}

uint32_t FreeOrReusableSlot(const State& s) {
  // A slot that is empty or names an object that no longer matters.
  std::vector<uint32_t> out;
  for (uint32_t slot = 0; slot < kObjectSlots; ++slot) {
    const TrackedObject* o = s.At(slot);
    if (o == nullptr || o->gone) out.push_back(slot);
  }
  return PickSlot(out);
}

// ---- Valid commands ----

struct Present : Step {
  uint32_t slot, major, length, method, input, output;
  explicit Present(const State& s)
      : slot(FreeOrReusableSlot(s)),
        major(*rc::gen::inRange<uint32_t>(0, 4)),
        length(*rc::gen::inRange<uint32_t>(1, 64)),
        method(*rc::gen::element<uint32_t>(0, 1, 2)),
        input(*rc::gen::inRange<uint32_t>(1, 64)),
        output(*rc::gen::inRange<uint32_t>(1, 64)) {}
  bool Valid(const State& s) const override { return SlotFree(s, slot); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kPresent, {{"dst", slot},
                                      {"major", major},
                                      {"length", length},
                                      {"method", method},
                                      {"input_length", input},
                                      {"output_length", output},
                                      {"stack_size", 1},
                                      {"io_type", 0}})};
  }
  void Apply(State& s) const override {
    TrackedObject o{K::kPresented, ++s.next_id};
    o.major = major;
    o.length = major <= 1 ? length : output;
    o.presented = s.presented++;
    s.objects.push_back(o);
    s.slots[slot] = static_cast<int>(s.objects.size()) - 1;
  }
};

struct MemoryCreate : Step {
  uint32_t slot, size, attrs;
  explicit MemoryCreate(const State& s)
      : slot(FreeOrReusableSlot(s)),
        size(*rc::gen::inRange<uint32_t>(1, 256)),
        attrs(*rc::gen::inRange<uint32_t>(0, 8)) {}
  bool Valid(const State& s) const override { return SlotFree(s, slot); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kMemoryCreate,
                   {{"dst", slot}, {"size", size}, {"parent", program::kDriverHandle}, {"attrs", attrs}})};
  }
  void Apply(State& s) const override {
    s.objects.push_back(TrackedObject{K::kMemory, ++s.next_id});
    s.slots[slot] = static_cast<int>(s.objects.size()) - 1;
  }
};

struct RequestCreate : Step {
  uint32_t slot, attrs;
  explicit RequestCreate(const State& s) : slot(FreeOrReusableSlot(s)), attrs(*rc::gen::inRange<uint32_t>(0, 8)) {}
  bool Valid(const State& s) const override { return SlotFree(s, slot); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestCreate, {{"dst", slot}, {"parent", program::kNullHandle}, {"attrs", attrs}})};
  }
  void Apply(State& s) const override {
    s.objects.push_back(TrackedObject{K::kCreatedRequest, ++s.next_id});
    s.slots[slot] = static_cast<int>(s.objects.size()) - 1;
  }
};

bool Alive(const TrackedObject& o) { return !o.gone; }
bool Referenced(const TrackedObject& o) { return !o.gone && o.extra > 0; }
bool Deletable(const TrackedObject& o) { return !o.gone && !o.deleted && o.kind != K::kPresented; }
bool Owned(const TrackedObject& o) { return !o.gone && o.kind == K::kPresented && !o.completed; }
bool OwnedReadOrWrite(const TrackedObject& o) { return Owned(o) && o.major <= 1; }
bool OwnedWithInput(const TrackedObject& o) { return Owned(o) && o.major != 0; }

// Drops the object if that was its last reference.
void ReleaseOne(TrackedObject& o) {
  if (o.extra > 0) {
    --o.extra;
  }
  const bool creation_gone = o.deleted || (o.kind == K::kPresented && o.completed);
  if (creation_gone && o.extra == 0) o.gone = true;
}

struct Reference : Step {
  uint32_t slot;
  explicit Reference(const State& s) : slot(PickSlot(s.SlotsWhere(Alive))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, Alive); }
  std::vector<Op> Ops() const override { return {MakeOp(OpCode::kObjectReference, {{"obj", slot}})}; }
  void Apply(State& s) const override { s.objects[s.slots[slot]].extra++; }
};

struct Dereference : Step {
  uint32_t slot;
  explicit Dereference(const State& s) : slot(PickSlot(s.SlotsWhere(Referenced))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, Referenced); }
  std::vector<Op> Ops() const override { return {MakeOp(OpCode::kObjectDereference, {{"obj", slot}})}; }
  void Apply(State& s) const override { ReleaseOne(s.objects[s.slots[slot]]); }
};

struct Delete : Step {
  uint32_t slot;
  explicit Delete(const State& s) : slot(PickSlot(s.SlotsWhere(Deletable))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, Deletable); }
  std::vector<Op> Ops() const override { return {MakeOp(OpCode::kObjectDelete, {{"obj", slot}})}; }
  void Apply(State& s) const override {
    TrackedObject& o = s.objects[s.slots[slot]];
    o.deleted = true;
    if (o.extra == 0) o.gone = true;
  }
};

struct Complete : Step {
  uint32_t slot, information;
  bool with_information;
  explicit Complete(const State& s)
      : slot(PickSlot(s.SlotsWhere(Owned))), information(0), with_information(*rc::gen::arbitrary<bool>()) {
    information = *rc::gen::inRange<uint32_t>(0, s.At(slot)->length + 1);  // never more than the buffer
  }
  bool Valid(const State& s) const override { return SlotIs(s, slot, Owned) && information <= s.At(slot)->length; }
  std::vector<Op> Ops() const override {
    if (with_information) {
      return {MakeOp(OpCode::kRequestCompleteWithInformation,
                     {{"req", slot}, {"status", S(STATUS_SUCCESS)}, {"information", information}})};
    }
    return {MakeOp(OpCode::kRequestComplete, {{"req", slot}, {"status", S(STATUS_SUCCESS)}})};
  }
  void Apply(State& s) const override {
    TrackedObject& o = s.objects[s.slots[slot]];
    o.completed = true;
    if (o.extra == 0) o.gone = true;
  }
};

// Retrieve the input buffer as WDFMEMORY, reference it, read it, release it.
struct UseInputMemory : Step {
  uint32_t slot;
  explicit UseInputMemory(const State& s) : slot(PickSlot(s.SlotsWhere(OwnedWithInput))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, OwnedWithInput); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestRetrieveInputMemory, {{"req", slot}, {"dst", kScratchSlot}}),
            MakeOp(OpCode::kObjectReference, {{"obj", kScratchSlot}}),
            MakeOp(OpCode::kMemoryGetBuffer, {{"mem", kScratchSlot}}),
            MakeOp(OpCode::kObjectDereference, {{"obj", kScratchSlot}})};
  }
  void Apply(State&) const override {}
};

struct RunReadyWork : Step {
  explicit RunReadyWork(const State&) {}
  bool Valid(const State& s) const override { return (void)s, true; }
  std::vector<Op> Ops() const override { return {MakeOp(OpCode::kRunReadyWork, {})}; }
  void Apply(State&) const override {}
};

// ---- Misuse commands: each must get exactly its rule ----

bool CompletedButReferenced(const TrackedObject& o) { return !o.gone && o.kind == K::kPresented && o.completed; }
bool CreatedRequest(const TrackedObject& o) { return !o.gone && o.kind == K::kCreatedRequest; }
bool OverDereferenceable(const TrackedObject& o) {
  return !o.gone && !o.deleted && o.extra == 0 && o.kind != K::kPresented;  // parented to the driver
}
bool Stale(const TrackedObject& o) { return o.gone; }

struct DoubleComplete : Step {
  uint32_t slot;
  explicit DoubleComplete(const State& s) : slot(PickSlot(s.SlotsWhere(CompletedButReferenced))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, CompletedButReferenced); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestComplete, {{"req", slot}, {"status", S(STATUS_SUCCESS)}})};
  }
  void Apply(State&) const override {}
  std::vector<std::string> ExpectedRules() const override { return {"DoubleCompletion"}; }
};

struct CompleteCreated : Step {
  uint32_t slot;
  explicit CompleteCreated(const State& s) : slot(PickSlot(s.SlotsWhere(CreatedRequest))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, CreatedRequest); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestComplete, {{"req", slot}, {"status", S(STATUS_SUCCESS)}})};
  }
  void Apply(State&) const override {}
  std::vector<std::string> ExpectedRules() const override { return {"ReqDelete"}; }
};

struct OverDereference : Step {
  uint32_t slot;
  explicit OverDereference(const State& s) : slot(PickSlot(s.SlotsWhere(OverDereferenceable))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, OverDereferenceable); }
  std::vector<Op> Ops() const override { return {MakeOp(OpCode::kObjectDereference, {{"obj", slot}})}; }
  void Apply(State& s) const override { s.stopped = true; }
  std::vector<std::string> ExpectedRules() const override { return {"ObjectOverDereference"}; }
  bool ExpectBugcheck() const override { return true; }
};

struct CompleteWithMemoryReferenced : Step {
  uint32_t slot;
  explicit CompleteWithMemoryReferenced(const State& s) : slot(PickSlot(s.SlotsWhere(OwnedWithInput))) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, OwnedWithInput); }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestRetrieveInputMemory, {{"req", slot}, {"dst", kScratchSlot}}),
            MakeOp(OpCode::kObjectReference, {{"obj", kScratchSlot}}),
            MakeOp(OpCode::kRequestComplete, {{"req", slot}, {"status", S(STATUS_SUCCESS)}})};
  }
  void Apply(State& s) const override { s.stopped = true; }
  std::vector<std::string> ExpectedRules() const override { return {"CompleteWithMemoryReferenced"}; }
  bool ExpectBugcheck() const override { return true; }
};

struct InformationTooLarge : Step {
  uint32_t slot, information;
  explicit InformationTooLarge(const State& s) : slot(PickSlot(s.SlotsWhere(OwnedReadOrWrite))), information(0) {
    information = s.At(slot)->length + *rc::gen::inRange<uint32_t>(1, 100);
  }
  bool Valid(const State& s) const override {
    return SlotIs(s, slot, OwnedReadOrWrite) && information > s.At(slot)->length;
  }
  std::vector<Op> Ops() const override {
    return {MakeOp(OpCode::kRequestCompleteWithInformation,
                   {{"req", slot}, {"status", S(STATUS_SUCCESS)}, {"information", information}})};
  }
  void Apply(State& s) const override { s.stopped = true; }
  std::vector<std::string> ExpectedRules() const override { return {"InformationLengthMismatch"}; }
  bool ExpectBugcheck() const override { return true; }
};

struct UseStaleHandle : Step {
  uint32_t slot;
  OpCode code;
  explicit UseStaleHandle(const State& s)
      : slot(PickSlot(s.SlotsWhere(Stale))),
        code(*rc::gen::element(OpCode::kObjectReference, OpCode::kObjectDelete, OpCode::kObjectGetContext,
                               OpCode::kRequestComplete, OpCode::kMemoryGetBuffer)) {}
  bool Valid(const State& s) const override { return SlotIs(s, slot, Stale); }
  std::vector<Op> Ops() const override {
    Op op = MakeOp(code, {});
    for (const char* name : {"obj", "req", "mem"}) op.set_arg(name, slot);
    return {op};
  }
  void Apply(State& s) const override { s.stopped = true; }
  std::vector<std::string> ExpectedRules() const override { return {"InvalidHandle"}; }
  bool ExpectBugcheck() const override { return true; }
};

// At most kMaxCommands commands (each appends 1 to 4 ops).
constexpr int kMaxCommands = 10;

template <typename... Commands>
void CheckStateful() {
  const State initial;
  Sut sut;
  const auto commands = *rc::gen::resize(
      kMaxCommands, rc::state::gen::commands(initial, rc::state::gen::execOneOfWithArgs<Commands...>()));
  rc::state::runAll(commands, initial, sut);
}

RC_GTEST_PROP(Stateful, ValidProgramsAreCleanAndBalanced, ()) {
  CheckStateful<Present, MemoryCreate, RequestCreate, Reference, Dereference, Delete, Complete, UseInputMemory,
                RunReadyWork>();
}

RC_GTEST_PROP(Stateful, EachMisuseGetsExactlyItsRule, ()) {
  CheckStateful<Present, MemoryCreate, RequestCreate, Reference, Dereference, Delete, Complete, UseInputMemory,
                RunReadyWork, DoubleComplete, CompleteCreated, OverDereference, CompleteWithMemoryReferenced,
                InformationTooLarge, UseStaleHandle>();
}

}  // namespace
}  // namespace wdfsim::properties
