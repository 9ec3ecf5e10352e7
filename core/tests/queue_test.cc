// Queues, devices and cancelable requests as a loaded driver sees them
// (SEMANTICS-WDF 5; the queue-state cases 26-29 are properties/ tests against
// the reference model): cancel on the queue and in the driver, ownership
// after requeue, the teardown rules a driver's queue logic can break.
#include <gtest/gtest.h>

#include <vector>

#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/simulation.h"

namespace {

using wdfsim::BugCheck;
using wdfsim::RuleId;

// A tiny KMDF driver whose queue configuration and callbacks each test sets.
struct TestDriver {
  WDF_IO_QUEUE_DISPATCH_TYPE dispatch = WdfIoQueueDispatchManual;
  bool filter = false;
  bool canceled_on_queue = false;
  WDFQUEUE queue = nullptr;
  WDFDEVICE device = nullptr;
  std::vector<WDFREQUEST> presented;
  std::vector<WDFREQUEST> canceled;
  int ready_calls = 0;
};
TestDriver* g_driver = nullptr;

VOID ReadyCallback(WDFQUEUE, WDFCONTEXT) { ++g_driver->ready_calls; }
VOID IoDefault(WDFQUEUE, WDFREQUEST request) { g_driver->presented.push_back(request); }
VOID CanceledOnQueue(WDFQUEUE, WDFREQUEST request) { g_driver->canceled.push_back(request); }
VOID RequestCancel(WDFREQUEST request) { g_driver->canceled.push_back(request); }
VOID CompleteOnCancel(WDFREQUEST request) {
  g_driver->canceled.push_back(request);
  WdfRequestComplete(request, STATUS_CANCELLED);
}

NTSTATUS DeviceAdd(WDFDRIVER, PWDFDEVICE_INIT init) {
  if (g_driver->filter) WdfFdoInitSetFilter(init);
  WDFDEVICE device;
  NTSTATUS status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &device);
  if (!NT_SUCCESS(status)) return status;
  g_driver->device = device;
  if (g_driver->filter) return STATUS_SUCCESS;  // no queue: everything passes down
  WDF_IO_QUEUE_CONFIG config;
  WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, g_driver->dispatch);
  if (g_driver->dispatch != WdfIoQueueDispatchManual) config.EvtIoDefault = IoDefault;
  if (g_driver->canceled_on_queue) config.EvtIoCanceledOnQueue = CanceledOnQueue;
  return WdfIoQueueCreate(device, &config, WDF_NO_OBJECT_ATTRIBUTES, &g_driver->queue);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver_object, PUNICODE_STRING registry_path) {
  WDF_DRIVER_CONFIG config;
  WDF_DRIVER_CONFIG_INIT(&config, DeviceAdd);
  return WdfDriverCreate(driver_object, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

class QueueTest : public ::testing::Test {
 protected:
  void Load() {
    g_driver = &driver_;
    sim_ = std::make_unique<wdfsim::Simulation>(choices_);
    wdfsim::LowerDeviceOptions lower;
    lower.answers_from_choices = false;
    wdfsim::LowerAnswer pend;
    pend.kind = wdfsim::LowerAnswer::Kind::kPendForever;
    lower.script = {pend};
    lower_ = &sim_->AddLowerDevice(lower);
    ASSERT_EQ(sim_->LoadDriver(DriverEntry), STATUS_SUCCESS);
    ASSERT_NE(sim_->AddDevice(*lower_), nullptr);
  }
  // A driver over a lower device that answers from no script, with `options`
  // (the choice-point environment events).
  void LoadWith(wdfsim::ChoiceSource& choices, const wdfsim::SimulationOptions& options) {
    g_driver = &driver_;
    sim_ = std::make_unique<wdfsim::Simulation>(choices, options);
    wdfsim::LowerDeviceOptions lower;
    lower.answers_from_choices = false;
    lower_ = &sim_->AddLowerDevice(lower);
    ASSERT_EQ(sim_->LoadDriver(DriverEntry), STATUS_SUCCESS);
    ASSERT_NE(sim_->AddDevice(*lower_), nullptr);
  }
  ~QueueTest() override {
    sim_.reset();
    g_driver = nullptr;
  }
  size_t Arrive(ULONG length = 8) {
    wdfsim::IoRequestSpec spec;
    spec.major_function = IRP_MJ_READ;
    spec.length = length;
    return sim_->SendRequest(driver_.device, spec);
  }
  WDFREQUEST Retrieve() {
    WDFREQUEST request = nullptr;
    EXPECT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &request), STATUS_SUCCESS);
    return request;
  }
  const wdfsim::IoOutcome& Outcome(size_t i) { return sim_->io_outcomes()[i]; }
  size_t Count(RuleId rule) { return sim_->verifier().Count(rule); }
  std::string Reports() { return sim_->verdict().Summary(); }

  TestDriver driver_;
  wdfsim::DefaultChoiceSource choices_;
  std::unique_ptr<wdfsim::Simulation> sim_;
  wdfsim::LowerDevice* lower_ = nullptr;
};

TEST_F(QueueTest, Sec5_3_OriginatorCancelOfQueuedRequestCompletesItCancelled) {
  Load();
  const size_t r = Arrive();
  EXPECT_TRUE(sim_->CancelRequest(r));
  EXPECT_EQ(Outcome(r).completions, 1u);
  EXPECT_EQ(Outcome(r).status, STATUS_CANCELLED);
  WDFREQUEST none = nullptr;
  EXPECT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &none), STATUS_NO_MORE_ENTRIES);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, Sec5_3_CanceledOnQueueGoesToTheDriverOnlyIfPresentedBefore) {
  driver_.canceled_on_queue = true;
  Load();
  const size_t fresh = Arrive();
  EXPECT_TRUE(sim_->CancelRequest(fresh));
  EXPECT_TRUE(driver_.canceled.empty()) << "never presented: the framework completes it";
  EXPECT_EQ(Outcome(fresh).status, STATUS_CANCELLED);

  const size_t again = Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestRequeue(request), STATUS_SUCCESS);
  EXPECT_TRUE(sim_->CancelRequest(again));
  ASSERT_EQ(driver_.canceled.size(), 1u) << "presented before: EvtIoCanceledOnQueue owns it";
  EXPECT_EQ(Outcome(again).completions, 0u);
  WdfRequestComplete(driver_.canceled[0], STATUS_CANCELLED);
  EXPECT_EQ(Outcome(again).status, STATUS_CANCELLED);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, CancelableRequestRunsEvtRequestCancelOnOriginatorCancel) {
  Load();
  const size_t r = Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestMarkCancelableEx(request, CompleteOnCancel), STATUS_SUCCESS);
  EXPECT_FALSE(WdfRequestIsCanceled(request));
  EXPECT_TRUE(sim_->CancelRequest(r));
  ASSERT_EQ(driver_.canceled.size(), 1u);
  EXPECT_EQ(Outcome(r).status, STATUS_CANCELLED);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, UnmarkAfterTheCancelRoutineStartedIsStatusCancelled) {
  Load();
  const size_t r = Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestMarkCancelableEx(request, RequestCancel), STATUS_SUCCESS);
  EXPECT_TRUE(sim_->CancelRequest(r));
  EXPECT_TRUE(WdfRequestIsCanceled(request));
  EXPECT_EQ(WdfRequestUnmarkCancelable(request), STATUS_CANCELLED) << "the cancel routine owns completion";
  WdfRequestComplete(request, STATUS_CANCELLED);  // as its EvtRequestCancel would
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, MarkCancelableExOnACanceledRequestRefusesWithoutCallingBack) {
  Load();
  const size_t r = Arrive();
  WDFREQUEST request = Retrieve();
  EXPECT_TRUE(sim_->CancelRequest(r)) << "not cancelable: only the IRP's Cancel flag is set";
  EXPECT_TRUE(WdfRequestIsCanceled(request));
  EXPECT_EQ(WdfRequestMarkCancelableEx(request, RequestCancel), STATUS_CANCELLED);
  EXPECT_TRUE(driver_.canceled.empty());
  WdfRequestComplete(request, STATUS_CANCELLED);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, CompletingWhileCancelableIsCompleteCancelable) {
  Load();
  Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestMarkCancelableEx(request, RequestCancel), STATUS_SUCCESS);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Count(RuleId::kCompleteCancelable), 1u) << Reports();
  EXPECT_EQ(Count(RuleId::kCompleteWithCancelRoutine), 0u) << "the framework took its cancel routine off the IRP";
}

TEST_F(QueueTest, CompletingOnBothTheCancelAndTheNormalPathIsCaught) {
  Load();
  const size_t r = Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestMarkCancelableEx(request, CompleteOnCancel), STATUS_SUCCESS);
  EXPECT_TRUE(sim_->CancelRequest(r));
  // The normal path did not check WdfRequestUnmarkCancelable's status.
  EXPECT_THROW(WdfRequestComplete(request, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(Count(RuleId::kInvalidHandle), 1u) << Reports();
}

TEST_F(QueueTest, CompletingAfterRequeueIsRequestNotOwned) {
  Load();
  Arrive();
  WDFREQUEST request = Retrieve();
  ASSERT_EQ(WdfRequestRequeue(request), STATUS_SUCCESS);
  WdfRequestComplete(request, STATUS_SUCCESS);
  EXPECT_EQ(Count(RuleId::kRequestNotOwned), 1u) << Reports();
}

TEST_F(QueueTest, RequeueIsRefusedOnAQueueThatIsNotManual) {
  driver_.dispatch = WdfIoQueueDispatchParallel;
  Load();
  Arrive();
  ASSERT_EQ(driver_.presented.size(), 1u);
  EXPECT_EQ(WdfRequestRequeue(driver_.presented[0]), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(Count(RuleId::kQueueRequestMisuse), 1u);
  WdfRequestComplete(driver_.presented[0], STATUS_SUCCESS);
}

TEST_F(QueueTest, SequentialQueuePresentsTheNextOnlyAfterCompletion) {
  driver_.dispatch = WdfIoQueueDispatchSequential;
  Load();
  Arrive();
  Arrive();
  ASSERT_EQ(driver_.presented.size(), 1u);
  WdfRequestComplete(driver_.presented[0], STATUS_SUCCESS);
  ASSERT_EQ(driver_.presented.size(), 2u);
  WdfRequestComplete(driver_.presented[1], STATUS_SUCCESS);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, Sec5_2_ZeroLengthReadIsCompletedByTheFramework) {
  driver_.dispatch = WdfIoQueueDispatchParallel;
  Load();
  const size_t r = Arrive(/*length=*/0);
  EXPECT_TRUE(driver_.presented.empty());
  EXPECT_EQ(Outcome(r).status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(r).information, 0u);
}

TEST_F(QueueTest, NoQueueFailsTheRequestUnlessTheDeviceIsAFilter) {
  driver_.filter = true;
  Load();
  Arrive();
  ASSERT_EQ(lower_->irps().size(), 1u) << "a filter passes requests it has no queue for down";
  sim_->CancelRequest(0);  // the lower device completes it cancelled
  EXPECT_NO_THROW(sim_->Unload());
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 0u) << Reports();
}

TEST_F(QueueTest, UndrainedManualQueueIsManualQueueStalledAtUnload) {
  Load();
  ASSERT_EQ(WdfIoQueueReadyNotify(driver_.queue, ReadyCallback, nullptr), STATUS_SUCCESS);
  const size_t first = Arrive();
  Arrive();
  EXPECT_EQ(driver_.ready_calls, 1);
  WDFREQUEST request = Retrieve();  // one, not until STATUS_NO_MORE_ENTRIES
  WdfRequestComplete(request, STATUS_SUCCESS);
  Arrive();
  EXPECT_EQ(driver_.ready_calls, 1) << "an arrival on a non-empty queue does not notify";
  sim_->Unload();
  EXPECT_EQ(Count(RuleId::kManualQueueStalled), 1u) << Reports();
  EXPECT_EQ(Outcome(first).status, STATUS_SUCCESS);
  EXPECT_EQ(Outcome(2).status, STATUS_CANCELLED) << "device removal purges the queue";
}

TEST_F(QueueTest, DeferredAndPlainUncompletedRequestsAtUnload) {
  Load();
  Arrive();
  Arrive();
  WDFREQUEST deferred = Retrieve();
  ASSERT_EQ(WdfRequestMarkCancelableEx(deferred, RequestCancel), STATUS_SUCCESS);
  Retrieve();
  sim_->Unload();
  EXPECT_EQ(driver_.canceled.size(), 1u) << "removal cancels the driver's cancelable request";
  EXPECT_EQ(Count(RuleId::kDeferredRequestCompleted), 1u) << Reports();
  EXPECT_EQ(Count(RuleId::kRequestCompleted), 1u) << Reports();
}

TEST_F(QueueTest, Sec5_3_StopCompleteRegisteredTwiceIsQueueFatalError0xA) {
  Load();
  Arrive();
  Retrieve();  // driver-owned: the first StopComplete stays pending
  WdfIoQueueStop(driver_.queue, ReadyCallback, nullptr);
  EXPECT_THROW(WdfIoQueueStop(driver_.queue, ReadyCallback, nullptr), BugCheck);
  ASSERT_EQ(Count(RuleId::kQueueFatalError), 1u);
  EXPECT_EQ(sim_->verifier().reports().back().rule_info().bugcheck, 0x10Du);
  EXPECT_EQ(sim_->verifier().reports().back().rule_info().p1, 0xAu);
}

TEST_F(QueueTest, RetrieveByFileObjectTakesOnlyThatHandlesRequests) {
  Load();
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 4;
  spec.file_object = 1;
  sim_->SendRequest(driver_.device, spec);
  spec.file_object = 2;
  const size_t second = sim_->SendRequest(driver_.device, spec);
  WDFREQUEST first_request = Retrieve();  // peek at the first handle's file object, then put it back
  WDFFILEOBJECT first_file = WdfRequestGetFileObject(first_request);
  ASSERT_NE(first_file, nullptr);
  ASSERT_EQ(WdfRequestRequeue(first_request), STATUS_SUCCESS);
  WDFREQUEST taken = nullptr;
  ASSERT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &taken), STATUS_SUCCESS);
  ASSERT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &taken), STATUS_SUCCESS);
  WDFFILEOBJECT second_file = WdfRequestGetFileObject(taken);
  EXPECT_NE(second_file, first_file) << "each originator handle has its own WDFFILEOBJECT";
  ASSERT_EQ(WdfRequestRequeue(taken), STATUS_SUCCESS);
  WDFREQUEST by_file = nullptr;
  EXPECT_EQ(WdfIoQueueRetrieveRequestByFileObject(driver_.queue, second_file, &by_file), STATUS_SUCCESS);
  EXPECT_EQ(by_file, sim_->io_outcomes()[second].request);
  EXPECT_EQ(WdfIoQueueRetrieveRequestByFileObject(driver_.queue, second_file, &by_file), STATUS_NO_MORE_ENTRIES);
  EXPECT_EQ(by_file, nullptr);
}

TEST_F(QueueTest, Sec5_3_StopSynchronouslyWaitsForTheDriverOwnedRequest) {
  Load();
  const size_t r = Arrive();
  WDFREQUEST request = Retrieve();
  // Nothing will complete it: the wait cannot end, a Liveness report.
  EXPECT_THROW(WdfIoQueueStopSynchronously(driver_.queue), BugCheck);
  EXPECT_EQ(Count(RuleId::kLiveness), 1u) << Reports();
  (void)r;
  (void)request;
}

TEST_F(QueueTest, Sec5_3_StopSynchronouslyReturnsWhenNothingIsOwned) {
  Load();
  Arrive();
  WdfIoQueueStopSynchronously(driver_.queue);  // queued requests do not delay it
  EXPECT_EQ(
      WdfIoQueueGetState(driver_.queue, nullptr, nullptr) & (WdfIoQueueAcceptRequests | WdfIoQueueDispatchRequests),
      WdfIoQueueAcceptRequests);
  WDFREQUEST none = nullptr;
  EXPECT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &none), STATUS_WDF_PAUSED);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, Sec5_1_NoMoreEntriesWithRequestsLeftForcesTheNextArrivalToNotify) {
  Load();
  ASSERT_EQ(WdfIoQueueReadyNotify(driver_.queue, ReadyCallback, nullptr), STATUS_SUCCESS);
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 4;
  spec.file_object = 1;
  sim_->SendRequest(driver_.device, spec);
  ASSERT_EQ(driver_.ready_calls, 1);
  WDFREQUEST first = Retrieve();
  WDFFILEOBJECT file_one = WdfRequestGetFileObject(first);
  ASSERT_EQ(WdfRequestRequeue(first), STATUS_SUCCESS);  // back on the empty queue: an edge
  const int after_requeue = driver_.ready_calls;
  spec.file_object = 2;
  sim_->SendRequest(driver_.device, spec);  // count 2: no edge
  EXPECT_EQ(driver_.ready_calls, after_requeue);
  // Take handle 1's request; nothing of handle 1 is left, but handle 2's is.
  WDFREQUEST mine = nullptr;
  ASSERT_EQ(WdfIoQueueRetrieveRequestByFileObject(driver_.queue, file_one, &mine), STATUS_SUCCESS);
  EXPECT_EQ(WdfIoQueueRetrieveRequestByFileObject(driver_.queue, file_one, &mine), STATUS_NO_MORE_ENTRIES);
  spec.file_object = 1;
  sim_->SendRequest(driver_.device, spec);  // count 2 again, but forced
  EXPECT_EQ(driver_.ready_calls, after_requeue + 1);
}

TEST_F(QueueTest, OriginatorCancelsAtAChoicePointInsideTheDriversWork) {
  // Scripted: at the first scheduling point with an outstanding request the
  // originator cancels it (1 = cancel, 0 = the first request).
  wdfsim::ScriptedChoiceSource choices({1, 0});
  wdfsim::SimulationOptions options;
  options.originator_cancels = true;
  LoadWith(choices, options);
  const size_t r = Arrive();  // queued; the cancel comes at the driver's next DDI
  WDFREQUEST none = nullptr;
  EXPECT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &none), STATUS_NO_MORE_ENTRIES);
  EXPECT_EQ(Outcome(r).status, STATUS_CANCELLED) << "cancelled on the queue at the retrieve's entry";
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(QueueTest, ApplicationThreadExitsAtAChoicePointInsideTheDriversWork) {
  // Scripted: at the first scheduling point while the application thread has
  // an IRP on its list, it exits (1): IoCancelThreadIo cancels that IRP.
  wdfsim::ScriptedChoiceSource choices({1});
  wdfsim::SimulationOptions options;
  options.thread_exits = true;
  LoadWith(choices, options);
  const size_t r = Arrive();
  EXPECT_FALSE(sim_->thread_exited(sim_->application_thread()));
  WDFREQUEST none = nullptr;
  EXPECT_EQ(WdfIoQueueRetrieveNextRequest(driver_.queue, &none), STATUS_NO_MORE_ENTRIES);
  EXPECT_TRUE(sim_->thread_exited(sim_->application_thread())) << "exited at the retrieve's entry";
  EXPECT_EQ(Outcome(r).status, STATUS_CANCELLED) << "IoCancelThreadIo cancelled it on the queue";
  sim_->AdvanceTime(200 * 10000);  // the exit's 100 ms check finds the list empty
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

}  // namespace
