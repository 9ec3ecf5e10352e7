// The core's KMDF I/O queues against the queue reference model
// (model/queue_model.h), through a test driver loaded the way PnP loads one
// (queue_driver.h): SEMANTICS-WDF 7 cases 26-29 on the core, arbitrary op
// sequences with misuse, and a stateful property that the ready callback
// fires exactly on the edges the model predicts across any interleaving of
// arrivals, retrievals, completions, requeues, forwards, stops, starts,
// purges, drains and originator cancels.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "model/queue_model.h"
#include "queue_driver.h"

namespace wdfsim::queue_model {
// RapidCheck prints counterexamples with these.
void showValue(const Op& op, std::ostream& os) { os << op.ToString(); }
void showValue(const DeviceConfig& config, std::ostream& os) {
  os << "{queues:";
  for (const QueueConfig& q : config.queues)
    os << " " << DispatchName(q.dispatch) << (q.canceled_on_queue ? "+canceled_on_queue" : "");
  os << (config.default_queue ? ", default queue}" : ", dispatching configured}");
}
}  // namespace wdfsim::queue_model

namespace wdfsim::properties {
namespace {

using queue_driver::Compare;
using queue_driver::Disagreement;
using queue_driver::Finish;
using queue_driver::Observation;
using queue_driver::QueueRig;
using queue_model::Callback;
using queue_model::Completion;
using queue_model::DeviceConfig;
using queue_model::Dispatch;
using queue_model::Event;
using queue_model::Op;
using queue_model::OpKind;
using queue_model::QueueConfig;
using queue_model::QueueModel;
using queue_model::Step;
using queue_model::Where;

Op Arrive() { return {OpKind::kArrive}; }
Op Retrieve(uint8_t q = 0) { return {OpKind::kRetrieve, q}; }
Op Complete(uint32_t r) { return {OpKind::kComplete, 0, r, false, STATUS_SUCCESS}; }
Op ReadyNotify(bool on, uint8_t q = 0) { return {OpKind::kReadyNotify, q, 0, on}; }
Op Start(uint8_t q = 0) { return {OpKind::kStart, q}; }
Op Stop(bool cb, uint8_t q = 0) { return {OpKind::kStop, q, 0, cb}; }
Op Purge(bool cb, uint8_t q = 0) { return {OpKind::kPurge, q, 0, cb}; }

DeviceConfig Manual(bool canceled_on_queue = false) {
  DeviceConfig config;
  config.queues = {QueueConfig{Dispatch::kManual, canceled_on_queue}};
  return config;
}

int Count(const std::vector<Callback>& callbacks, Event event) {
  int n = 0;
  for (const Callback& c : callbacks) n += c.event == event;
  return n;
}

// ---------------------------------------------------------------------------
// SEMANTICS-WDF 7, cases 26-29, on the core. Each op's observation is also
// compared with the model.

class QueueCase : public ::testing::Test {
 protected:
  void Load(const DeviceConfig& config) {
    model_ = std::make_unique<QueueModel>(config);
    rig_ = std::make_unique<QueueRig>(choices_, config);
    std::string error;
    ASSERT_TRUE(rig_->Load(&error)) << error;
  }
  // What the core did; fails the test if the model predicted otherwise.
  Observation Do(const Op& op) {
    const Step predicted = model_->Apply(op);
    EXPECT_FALSE(predicted.unspecified) << op.ToString();
    Observation observed = rig_->Run(op);
    EXPECT_EQ(predicted.Diff(observed.step), "") << op.ToString();
    EXPECT_TRUE(observed.unmapped_reports.empty()) << observed.unmapped_reports[0];
    EXPECT_TRUE(observed.late_callbacks.empty()) << op.ToString();
    return observed;
  }
  void TearDown() override {
    if (rig_ != nullptr && !HasFailure()) {
      const Disagreement d = Finish(*rig_, *model_);
      EXPECT_FALSE(d) << d.oracle << " " << d.detail;
    }
    rig_.reset();
  }

  DefaultChoiceSource choices_;
  std::unique_ptr<QueueModel> model_;
  std::unique_ptr<QueueRig> rig_;
};

TEST_F(QueueCase, Case26ReadyOnEachEmptyToNonEmptyEdgeOnly) {
  Load(Manual());
  EXPECT_EQ(Do(ReadyNotify(true)).step.status, STATUS_SUCCESS);
  EXPECT_EQ(Count(Do(Arrive()).step.callbacks, Event::kReady), 1);  // A
  EXPECT_EQ(Count(Do(Arrive()).step.callbacks, Event::kReady), 0);  // B before A is retrieved
  EXPECT_EQ(Do(Retrieve()).step.request, 0u);
  EXPECT_EQ(Do(Retrieve()).step.request, 1u);
  EXPECT_EQ(Do(Retrieve()).step.status, STATUS_NO_MORE_ENTRIES);
  EXPECT_EQ(Count(Do(Arrive()).step.callbacks, Event::kReady), 1);  // C
}

TEST_F(QueueCase, Case27RegistrationCallsBackBeforeReturningAndMisuseIsRefused) {
  Load(Manual());
  Do(Arrive());
  Do(Arrive());
  const Observation registered = Do(ReadyNotify(true));
  EXPECT_EQ(registered.step.status, STATUS_SUCCESS);
  EXPECT_EQ(Count(registered.step.callbacks, Event::kReady), 1);  // inside WdfIoQueueReadyNotify
  EXPECT_EQ(Do(ReadyNotify(true)).step.status, STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(Do(ReadyNotify(false)).step.status, STATUS_INVALID_DEVICE_REQUEST);  // still started
  Do(Stop(false));
  EXPECT_EQ(Do(ReadyNotify(false)).step.status, STATUS_SUCCESS);
}

TEST_F(QueueCase, Case27ParallelQueueRefusesReadyNotifyAndRetrieval) {
  DeviceConfig config;
  config.queues = {QueueConfig{Dispatch::kParallel}};
  Load(config);
  EXPECT_EQ(Do(ReadyNotify(true)).step.status, STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(Do(Retrieve()).step.status, STATUS_INVALID_DEVICE_STATE);
}

TEST_F(QueueCase, Case27SequentialQueueRefusesReadyNotify) {
  DeviceConfig config;
  config.queues = {QueueConfig{Dispatch::kSequential}};
  Load(config);
  EXPECT_EQ(Do(ReadyNotify(true)).step.status, STATUS_INVALID_DEVICE_REQUEST);
}

TEST_F(QueueCase, Case28StoppedQueueHoldsTheRequestUntilStart) {
  Load(Manual());
  Do(ReadyNotify(true));
  Do(Stop(false));
  EXPECT_EQ(Count(Do(Arrive()).step.callbacks, Event::kReady), 0);
  EXPECT_EQ(Do(Retrieve()).step.status, STATUS_WDF_PAUSED);
  EXPECT_EQ(Count(Do(Start()).step.callbacks, Event::kReady), 1);
}

TEST_F(QueueCase, Case29PurgeCancelsQueuedRejectsNewAndCompletesWhenIdle) {
  Load(Manual());
  Do(Arrive());
  Do(Arrive());
  Do(Retrieve());  // r0 is driver-owned
  const Observation purge = Do(Purge(true));
  EXPECT_EQ(purge.step.completions, (std::vector<Completion>{{1, STATUS_CANCELLED}}));
  EXPECT_EQ(Count(purge.step.callbacks, Event::kPurgeComplete), 0);
  EXPECT_EQ(Do(Arrive()).step.completions, (std::vector<Completion>{{2, STATUS_INVALID_DEVICE_STATE}}));
  EXPECT_EQ(Count(Do(Complete(0)).step.callbacks, Event::kPurgeComplete), 1);
}

TEST_F(QueueCase, Case29SecondStopCompleteWhilePendingIsQueueFatalError) {
  Load(Manual());
  Do(Arrive());
  Do(Retrieve());
  Do(Stop(true));  // pending: r0 is outstanding
  EXPECT_FALSE(Do(Stop(false)).step.bugcheck);
  const Observation fatal = Do(Stop(true));
  EXPECT_TRUE(fatal.step.bugcheck);
  EXPECT_EQ(fatal.step.reports, std::vector<queue_model::Report>{queue_model::Report::kQueueFatalError});
}

TEST_F(QueueCase, OriginatorCancelOfAQueuedRequest) {
  Load(Manual(/*canceled_on_queue=*/true));
  Do(Arrive());
  EXPECT_EQ(Do({OpKind::kCancel, 0, 0}).step.completions, (std::vector<Completion>{{0, STATUS_CANCELLED}}));
  Do(Arrive());
  Do(Retrieve());
  Do({OpKind::kRequeue, 0, 1});
  const Observation presented_before = Do({OpKind::kCancel, 0, 1});
  EXPECT_EQ(presented_before.step.callbacks, (std::vector<Callback>{{Event::kCanceledOnQueue, 0, 1}}));
}

// ---------------------------------------------------------------------------
// The disagreements in DISAGREEMENTS.md (Q1-Q3): the documented outcome, which
// the core does not give yet. The properties below follow the core there
// (kKnownCoreDeviations) so that they keep looking past these.

TEST_F(QueueCase, Q1SequentialRetrieveWithNothingOwnedIsAVerifierBreak) {
  DeviceConfig config;
  config.queues = {QueueConfig{Dispatch::kSequential}};
  Load(config);
  EXPECT_EQ(Do(Retrieve()).step.reports, std::vector<queue_model::Report>{queue_model::Report::kRetrieveSequential});
}

TEST_F(QueueCase, Q2StopCompleteStillFiresAfterStart) {
  Load(Manual());
  Do(Arrive());
  Do(Retrieve());
  Do(Stop(true));
  Do(Start());  // does not cancel the pending StopComplete (5.3)
  EXPECT_EQ(Count(Do(Complete(0)).step.callbacks, Event::kStopComplete), 1);
}

TEST_F(QueueCase, Q3PurgeCompleteStillFiresAfterStart) {
  Load(Manual());
  Do(Arrive());
  Do(Retrieve());
  Do(Purge(true));
  Do(Start());
  EXPECT_EQ(Count(Do(Complete(0)).step.callbacks, Event::kPurgeComplete), 1);  // queued + owned == 0
}

TEST_F(QueueCase, Q4StopAcceptsAgainAfterDrain) {
  Load(Manual());
  Do({OpKind::kDrain, 0, 0, false});
  EXPECT_EQ(Do(Stop(false)).step.queues[0].state & 0x3u, 0x1u);  // Accept set, Dispatch cleared
}

// ---------------------------------------------------------------------------
// Generators.

rc::Gen<DeviceConfig> GenConfig() {
  return rc::gen::exec([] {
    DeviceConfig config;
    const int queues = *rc::gen::inRange(1, 3);
    config.queues.clear();
    for (int i = 0; i < queues; ++i) {
      QueueConfig q;
      q.dispatch =
          i == 0 ? *rc::gen::element(Dispatch::kManual, Dispatch::kManual, Dispatch::kSequential, Dispatch::kParallel)
                 : Dispatch::kManual;
      q.canceled_on_queue = *rc::gen::arbitrary<bool>();
      config.queues.push_back(q);
    }
    config.default_queue = *rc::gen::arbitrary<bool>();
    return config;
  });
}

// Any op, misuse included (the model marks what the docs do not cover).
rc::Gen<Op> GenOp(size_t queues) {
  return rc::gen::exec([queues] {
    Op op;
    op.kind = *rc::gen::weightedElement<OpKind>({{6, OpKind::kArrive},
                                                 {5, OpKind::kRetrieve},
                                                 {5, OpKind::kComplete},
                                                 {1, OpKind::kCompleteTwice},
                                                 {2, OpKind::kRequeue},
                                                 {2, OpKind::kForward},
                                                 {3, OpKind::kReadyNotify},
                                                 {2, OpKind::kStart},
                                                 {2, OpKind::kStop},
                                                 {1, OpKind::kPurge},
                                                 {1, OpKind::kDrain},
                                                 {2, OpKind::kCancel},
                                                 {1, OpKind::kPowerDown},
                                                 {1, OpKind::kPowerUp}});
    op.queue = static_cast<uint8_t>(*rc::gen::inRange<size_t>(0, queues));
    op.request = *rc::gen::inRange<uint32_t>(0, 8);
    op.flag = *rc::gen::arbitrary<bool>();
    op.status = *rc::gen::element(STATUS_SUCCESS, STATUS_UNSUCCESSFUL, STATUS_CANCELLED);
    return op;
  });
}

// ---------------------------------------------------------------------------
// Arbitrary sequences: every specified op agrees, and a quiesced run tears
// down clean with every request completed once, as the model says.

RC_GTEST_PROP(QueueAgreement, CoreMatchesModelOnArbitraryOpSequences, ()) {
  const DeviceConfig config = *GenConfig();
  const auto ops = *rc::gen::container<std::vector<Op>>(GenOp(config.queues.size()));
  RandomChoiceSource choices(*rc::gen::arbitrary<uint64_t>());
  QueueModel model(config, queue_model::kKnownCoreDeviations);
  QueueRig rig(choices, config);
  std::string error;
  RC_ASSERT(rig.Load(&error));
  size_t skipped = 0;
  for (const Op& op : ops) {
    if (model.stopped()) break;
    bool unspecified = false;
    const Disagreement d = Compare(rig, model, op, &unspecified);
    if (d) RC_FAIL(d.oracle + " " + d.detail);
    skipped += unspecified;
  }
  RC_CLASSIFY(model.stopped(), "bug-checked");
  RC_CLASSIFY(skipped > 0, "skipped unspecified ops");
  const Disagreement d = Finish(rig, model);
  if (d) RC_FAIL(d.oracle + " " + d.detail);
}

// ---------------------------------------------------------------------------
// Stateful: valid driver behaviour only (no misuse, nothing unspecified). The
// model state is the reference model; the system under test is the rig.

struct Model {
  QueueModel queues;
};

struct Sut {
  std::unique_ptr<RandomChoiceSource> choices;
  std::unique_ptr<QueueRig> rig;
  int ready_fired = 0;
};

using Command = rc::state::Command<Model, Sut>;

struct QueueCommand : Command {
  Op op;

  // Valid: specified, no report, no bug check.
  void checkPreconditions(const Model& m) const override {
    const Step step = m.queues.Peek(op);
    RC_PRE(!step.unspecified && step.reports.empty() && !step.bugcheck);
  }
  void apply(Model& m) const override { m.queues.Apply(op); }
  void run(const Model& m, Sut& sut) const override {
    QueueModel model = m.queues;
    const Step predicted = model.Apply(op);
    const Observation observed = sut.rig->Run(op);
    const int ready_predicted = Count(predicted.callbacks, Event::kReady);
    const int ready_observed = Count(observed.step.callbacks, Event::kReady);
    sut.ready_fired += ready_observed;
    if (ready_observed != ready_predicted) {
      RC_FAIL("ready callback fired " + std::to_string(ready_observed) + " times, model says " +
              std::to_string(ready_predicted));
    }
    RC_ASSERT(Count(observed.late_callbacks, Event::kReady) == 0);
    const std::string diff = predicted.Diff(observed.step);
    if (!diff.empty()) RC_FAIL("model vs core: " + diff);
    RC_ASSERT(observed.unmapped_reports.empty());
    RC_ASSERT(observed.late_callbacks.empty());
    RC_ASSERT(observed.late_completions.empty());
  }
  void show(std::ostream& os) const override { os << op.ToString(); }
};

uint8_t AnyQueue(const Model& m) { return static_cast<uint8_t>(*rc::gen::inRange<size_t>(0, m.queues.queue_count())); }

uint32_t AnyRequest(const Model& m, Where where) {
  const std::vector<uint32_t> ids = m.queues.RequestsWhere(where);
  RC_PRE(!ids.empty());
  return *rc::gen::elementOf(ids);
}

struct ArriveCmd : QueueCommand {
  explicit ArriveCmd(const Model&) { op = Arrive(); }
};
struct RetrieveCmd : QueueCommand {
  explicit RetrieveCmd(const Model& m) { op = Retrieve(AnyQueue(m)); }
};
struct CompleteCmd : QueueCommand {
  explicit CompleteCmd(const Model& m) {
    op = Complete(AnyRequest(m, Where::kOwned));
    op.status = *rc::gen::element(STATUS_SUCCESS, STATUS_UNSUCCESSFUL);
  }
};
struct RequeueCmd : QueueCommand {
  explicit RequeueCmd(const Model& m) { op = {OpKind::kRequeue, 0, AnyRequest(m, Where::kOwned)}; }
};
struct ForwardCmd : QueueCommand {
  explicit ForwardCmd(const Model& m) { op = {OpKind::kForward, AnyQueue(m), AnyRequest(m, Where::kOwned)}; }
};
struct ReadyNotifyCmd : QueueCommand {
  explicit ReadyNotifyCmd(const Model& m) {
    const uint8_t q = AnyQueue(m);
    op = ReadyNotify(!m.queues.ready_registered(q), q);
  }
};
struct StartCmd : QueueCommand {
  explicit StartCmd(const Model& m) { op = Start(AnyQueue(m)); }
};
struct StopCmd : QueueCommand {
  explicit StopCmd(const Model& m) { op = Stop(*rc::gen::arbitrary<bool>(), AnyQueue(m)); }
};
struct PurgeCmd : QueueCommand {
  explicit PurgeCmd(const Model& m) {
    op = {*rc::gen::element(OpKind::kPurge, OpKind::kDrain), AnyQueue(m), 0, *rc::gen::arbitrary<bool>()};
  }
};
struct CancelCmd : QueueCommand {
  explicit CancelCmd(const Model& m) {
    op = {OpKind::kCancel, 0, AnyRequest(m, *rc::gen::element(Where::kQueued, Where::kOwned))};
  }
};

RC_GTEST_PROP(QueueStateful, ReadyCallbackFiresExactlyOnThePredictedEdges, ()) {
  const DeviceConfig config = *GenConfig();
  const Model initial{QueueModel(config, queue_model::kKnownCoreDeviations)};
  Sut sut;
  sut.choices = std::make_unique<RandomChoiceSource>(*rc::gen::arbitrary<uint64_t>());
  sut.rig = std::make_unique<QueueRig>(*sut.choices, config);
  std::string error;
  RC_ASSERT(sut.rig->Load(&error));
  const auto commands = *rc::gen::resize(
      40, rc::state::gen::commands(
              initial, rc::state::gen::execOneOfWithArgs<ArriveCmd, ArriveCmd, RetrieveCmd, RetrieveCmd, CompleteCmd,
                                                         RequeueCmd, ForwardCmd, ReadyNotifyCmd, ReadyNotifyCmd,
                                                         StartCmd, StopCmd, PurgeCmd, CancelCmd>()));
  rc::state::runAll(commands, initial, sut);
  RC_CLASSIFY(sut.ready_fired > 0, "the ready callback fired");
  RC_CLASSIFY(sut.ready_fired > 2, "it fired 3 times or more");
  // The same commands applied to the model, then brought to rest on both.
  Model end = initial;
  rc::state::applyAll(commands, end);
  const Disagreement d = Finish(*sut.rig, end.queues);
  if (d) RC_FAIL(d.oracle + " " + d.detail);
}

}  // namespace
}  // namespace wdfsim::properties
