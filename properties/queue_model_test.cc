// Unit tests of the queue reference model alone (no core): SEMANTICS-WDF 7
// cases 26-29 and the rules of section 5 they rest on, as the model predicts
// them. The core is held to the same predictions in queue_properties_test.cc.
#include "model/queue_model.h"

#include <gtest/gtest.h>

#include <vector>

namespace wdfsim::queue_model {
namespace {

constexpr uint32_t kAccept = 0x01, kDispatch = 0x02, kNoRequests = 0x04, kDriverNoRequests = 0x08;

Op Arrive() { return {OpKind::kArrive}; }
Op Retrieve(uint8_t q = 0) { return {OpKind::kRetrieve, q}; }
Op Complete(uint32_t r, NTSTATUS s = STATUS_SUCCESS) { return {OpKind::kComplete, 0, r, false, s}; }
Op ReadyNotify(bool on, uint8_t q = 0) { return {OpKind::kReadyNotify, q, 0, on}; }
Op Start(uint8_t q = 0) { return {OpKind::kStart, q}; }
Op Stop(bool cb, uint8_t q = 0) { return {OpKind::kStop, q, 0, cb}; }
Op Purge(bool cb, uint8_t q = 0) { return {OpKind::kPurge, q, 0, cb}; }
Op Drain(bool cb, uint8_t q = 0) { return {OpKind::kDrain, q, 0, cb}; }
Op Cancel(uint32_t r) { return {OpKind::kCancel, 0, r}; }
Op Requeue(uint32_t r) { return {OpKind::kRequeue, 0, r}; }
Op Forward(uint32_t r, uint8_t q) { return {OpKind::kForward, q, r}; }

int Count(const Step& step, Event event) {
  int n = 0;
  for (const Callback& c : step.callbacks) n += c.event == event;
  return n;
}

DeviceConfig Config(Dispatch dispatch, bool canceled_on_queue = false, int queues = 1) {
  DeviceConfig config;
  config.queues.assign(queues, QueueConfig{Dispatch::kManual, canceled_on_queue});
  config.queues[0].dispatch = dispatch;
  return config;
}

TEST(QueueModelCase26, ReadyFiresOnlyOnTheEmptyToNonEmptyEdge) {
  QueueModel m(Config(Dispatch::kManual));
  EXPECT_EQ(m.Apply(ReadyNotify(true)).callbacks.size(), 0u);
  EXPECT_EQ(Count(m.Apply(Arrive()), Event::kReady), 1);  // A
  EXPECT_EQ(Count(m.Apply(Arrive()), Event::kReady), 0);  // B, before A is retrieved
  EXPECT_EQ(m.Apply(Retrieve()).request, 0u);
  EXPECT_EQ(m.Apply(Retrieve()).request, 1u);
  const Step third = m.Apply(Retrieve());
  EXPECT_EQ(third.status, STATUS_NO_MORE_ENTRIES);
  EXPECT_EQ(third.request, kNoRequest);
  EXPECT_EQ(Count(m.Apply(Arrive()), Event::kReady), 1);  // C
}

TEST(QueueModelCase27, RegistrationFiresAtOnceAndIsRefusedWhenMisused) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  m.Apply(Arrive());
  const Step registered = m.Apply(ReadyNotify(true));
  EXPECT_EQ(registered.status, STATUS_SUCCESS);
  EXPECT_EQ(Count(registered, Event::kReady), 1);  // inside WdfIoQueueReadyNotify
  const Step again = m.Apply(ReadyNotify(true));
  EXPECT_EQ(again.status, STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(again.reports, std::vector<Report>{Report::kReadyNotifyMisuse});
  EXPECT_EQ(m.Apply(ReadyNotify(false)).status, STATUS_INVALID_DEVICE_REQUEST);  // started
  m.Apply(Stop(false));
  const Step unregistered = m.Apply(ReadyNotify(false));
  EXPECT_EQ(unregistered.status, STATUS_SUCCESS);
  EXPECT_TRUE(unregistered.reports.empty());
  EXPECT_EQ(m.Apply(ReadyNotify(false)).status, STATUS_INVALID_DEVICE_REQUEST);  // none registered
}

TEST(QueueModelCase27, NonManualQueues) {
  for (Dispatch d : {Dispatch::kSequential, Dispatch::kParallel}) {
    QueueModel m(Config(d));
    EXPECT_EQ(m.Apply(ReadyNotify(true)).status, STATUS_INVALID_DEVICE_REQUEST) << DispatchName(d);
  }
  QueueModel parallel(Config(Dispatch::kParallel));
  const Step retrieve = parallel.Apply(Retrieve());
  EXPECT_EQ(retrieve.status, STATUS_INVALID_DEVICE_STATE);
  EXPECT_TRUE(retrieve.reports.empty());
}

TEST(QueueModelCase28, StoppedQueueHoldsRequestsUntilStart) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(ReadyNotify(true));
  m.Apply(Stop(false));
  const Step arrival = m.Apply(Arrive());
  EXPECT_EQ(Count(arrival, Event::kReady), 0);
  EXPECT_EQ(arrival.queues[0].state, kAccept | kDriverNoRequests);
  EXPECT_EQ(m.Apply(Retrieve()).status, STATUS_WDF_PAUSED);
  EXPECT_EQ(Count(m.Apply(Start()), Event::kReady), 1);
  // Start on a started, non-empty queue sets the flag again.
  EXPECT_EQ(Count(m.Apply(Start()), Event::kReady), 1);
}

TEST(QueueModelCase29, PurgeCancelsQueuedAndRejectsNewRequests) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  m.Apply(Arrive());
  m.Apply(Arrive());
  m.Apply(Retrieve());  // r0 driver-owned
  const Step purge = m.Apply(Purge(true));
  EXPECT_EQ(purge.completions, (std::vector<Completion>{{1, STATUS_CANCELLED}, {2, STATUS_CANCELLED}}));
  EXPECT_EQ(Count(purge, Event::kPurgeComplete), 0);  // r0 still owned
  EXPECT_EQ(purge.queues[0].state, kDispatch | kNoRequests);
  const Step late = m.Apply(Arrive());
  EXPECT_EQ(late.completions, (std::vector<Completion>{{3, STATUS_INVALID_DEVICE_STATE}}));
  EXPECT_EQ(Count(m.Apply(Complete(0)), Event::kPurgeComplete), 1);
}

TEST(QueueModelCase29, SecondStopCompleteWhilePendingIsFatal) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  m.Apply(Retrieve());
  EXPECT_EQ(Count(m.Apply(Stop(true)), Event::kStopComplete), 0);  // r0 outstanding
  EXPECT_FALSE(m.Apply(Stop(false)).bugcheck);                     // a NULL callback is no error
  const Step second = m.Apply(Stop(true));
  EXPECT_TRUE(second.bugcheck);
  EXPECT_EQ(second.reports, std::vector<Report>{Report::kQueueFatalError});
  EXPECT_TRUE(m.stopped());
}

TEST(QueueModelStop, StopCompleteWaitsForDriverOwnedOnlyAndSurvivesStart) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  m.Apply(Arrive());
  m.Apply(Retrieve());
  m.Apply(Stop(true));
  m.Apply(Start());  // does not cancel the pending StopComplete
  const Step done = m.Apply(Complete(0));
  EXPECT_EQ(Count(done, Event::kStopComplete), 1);  // r1 still queued: it does not delay it
  EXPECT_EQ(done.queues[0].queued, 1u);
}

TEST(QueueModelStop, StopCompleteAtOnceWhenNothingIsOwned) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  EXPECT_EQ(Count(m.Apply(Stop(true)), Event::kStopComplete), 1);
}

TEST(QueueModelDrain, DrainLetsQueuedRequestsFinish) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  const Step drain = m.Apply(Drain(true));
  EXPECT_TRUE(drain.completions.empty());
  EXPECT_EQ(drain.queues[0].state, kDispatch | kDriverNoRequests);
  EXPECT_EQ(m.Apply(Retrieve()).status, STATUS_SUCCESS);
  EXPECT_EQ(Count(m.Apply(Complete(0)), Event::kDrainComplete), 1);
}

TEST(QueueModelCancel, OriginatorCancelOfAQueuedRequest) {
  QueueModel plain(Config(Dispatch::kManual));
  plain.Apply(Arrive());
  const Step cancel = plain.Apply(Cancel(0));
  EXPECT_EQ(cancel.completions, (std::vector<Completion>{{0, STATUS_CANCELLED}}));
  EXPECT_TRUE(cancel.callbacks.empty());

  // EvtIoCanceledOnQueue gets it only if it was presented before.
  QueueModel hooked(Config(Dispatch::kManual, /*canceled_on_queue=*/true));
  hooked.Apply(Arrive());
  hooked.Apply(Arrive());
  EXPECT_TRUE(hooked.Apply(Cancel(0)).callbacks.empty());
  hooked.Apply(Retrieve());
  hooked.Apply(Requeue(1));
  const Step presented = hooked.Apply(Cancel(1));
  EXPECT_EQ(presented.callbacks, (std::vector<Callback>{{Event::kCanceledOnQueue, 0, 1}}));
  EXPECT_EQ(presented.completions, (std::vector<Completion>{{1, STATUS_CANCELLED}}));
}

TEST(QueueModelCancel, CancelOfADriverOwnedRequestDoesNothing) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  m.Apply(Retrieve());
  EXPECT_TRUE(m.Apply(Cancel(0)).completions.empty());
  EXPECT_TRUE(m.Peek(Requeue(0)).unspecified);
  EXPECT_EQ(m.Apply(Complete(0)).completions, (std::vector<Completion>{{0, STATUS_SUCCESS}}));
}

TEST(QueueModelRequeue, RequeueGoesToTheHeadAndCanFireReady) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(ReadyNotify(true));
  m.Apply(Arrive());
  m.Apply(Retrieve());
  const Step requeue = m.Apply(Requeue(0));
  EXPECT_EQ(requeue.status, STATUS_SUCCESS);
  EXPECT_EQ(Count(requeue, Event::kReady), 1);  // 0 -> 1
  m.Apply(Arrive());
  EXPECT_EQ(m.Apply(Retrieve()).request, 0u);
}

TEST(QueueModelRequeue, RequeueMisuse) {
  QueueModel m(Config(Dispatch::kSequential));
  m.Apply(Arrive());  // presented by EvtIoDefault
  const Step not_manual = m.Apply(Requeue(0));
  EXPECT_EQ(not_manual.status, STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(not_manual.reports, std::vector<Report>{Report::kQueueRequestMisuse});
  m.Apply(Arrive());  // queued: the sequential queue has one presented
  const Step not_owned = m.Apply(Requeue(1));
  EXPECT_EQ(not_owned.reports, std::vector<Report>{Report::kQueueRequestMisuse});
}

TEST(QueueModelComplete, MisuseOfCompletion) {
  QueueModel m(Config(Dispatch::kManual));
  m.Apply(Arrive());
  EXPECT_EQ(m.Apply(Complete(0)).reports, std::vector<Report>{Report::kRequestNotOwned});
  m.Apply(Retrieve());
  const Step twice = m.Apply({OpKind::kCompleteTwice, 0, 0, false, STATUS_SUCCESS});
  EXPECT_EQ(twice.reports, std::vector<Report>{Report::kDoubleCompletion});
  EXPECT_EQ(twice.completions.size(), 1u);
  const Step stale = m.Apply(Complete(0));
  EXPECT_TRUE(stale.bugcheck);
  EXPECT_EQ(stale.reports, std::vector<Report>{Report::kInvalidHandle});
}

TEST(QueueModelSequential, PresentsOneAtATime) {
  QueueModel m(Config(Dispatch::kSequential));
  EXPECT_EQ(m.Apply(Arrive()).callbacks, (std::vector<Callback>{{Event::kIoDefault, 0, 0}}));
  EXPECT_TRUE(m.Apply(Arrive()).callbacks.empty());
  EXPECT_EQ(m.Apply(Complete(0)).callbacks, (std::vector<Callback>{{Event::kIoDefault, 0, 1}}));
}

TEST(QueueModelParallel, PresentsAllAndHoldsWhileStopped) {
  QueueModel m(Config(Dispatch::kParallel));
  m.Apply(Arrive());
  m.Apply(Stop(false));
  EXPECT_TRUE(m.Apply(Arrive()).callbacks.empty());
  EXPECT_TRUE(m.Apply(Arrive()).callbacks.empty());
  EXPECT_EQ(m.Apply(Start()).callbacks, (std::vector<Callback>{{Event::kIoDefault, 0, 1}, {Event::kIoDefault, 0, 2}}));
  EXPECT_EQ(m.Snapshot(0).driver_owned, 3u);
}

TEST(QueueModelForward, ForwardMovesOwnershipAndFiresTheDestinationEdge) {
  QueueModel m(Config(Dispatch::kManual, false, /*queues=*/2));
  m.Apply(ReadyNotify(true, 1));
  m.Apply(Arrive());
  m.Apply(Retrieve());
  const Step forward = m.Apply(Forward(0, 1));
  EXPECT_EQ(forward.status, STATUS_SUCCESS);
  EXPECT_EQ(forward.callbacks, (std::vector<Callback>{{Event::kReady, 1}}));
  EXPECT_EQ(forward.queues[0].driver_owned, 0u);
  EXPECT_EQ(forward.queues[1].queued, 1u);
  EXPECT_EQ(m.Apply(Retrieve(1)).request, 0u);
}

TEST(QueueModelQuiesce, LeavesNothingBehind) {
  QueueModel m(Config(Dispatch::kManual, false, 2));
  m.Apply(Arrive());
  m.Apply(Arrive());
  m.Apply(Retrieve());
  m.Apply(Forward(0, 1));
  m.Apply(Stop(true, 1));
  m.Apply(Drain(false));
  for (const Op& op : m.Quiesce()) ASSERT_FALSE(m.Apply(op).unspecified) << op.ToString();
  EXPECT_TRUE(m.RequestsWhere(Where::kQueued).empty());
  EXPECT_TRUE(m.RequestsWhere(Where::kOwned).empty());
}

}  // namespace
}  // namespace wdfsim::queue_model
