// Power-managed queues across the device's D0 exits and returns
// (Simulation::PowerDown / PowerUp; Microsoft's "Using Power-Managed I/O
// Queues" and the WdfRequestStopAcknowledge and EvtIoResume pages): delivery
// stops, EvtIoStop(Suspend) runs once per request the driver holds, the
// device leaves D0 only when each one is completed, requeued or acknowledged,
// and EvtIoResume and ready notification follow the return to D0.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/simulation.h"

namespace {

using wdfsim::BugCheck;
using wdfsim::RuleId;

// What the driver's EvtIoStop does with each request.
enum class OnStop { kNoCallback, kAcknowledgeRequeue, kAcknowledgeKeep, kComplete, kIgnore };

struct PowerDriver {
  OnStop on_stop = OnStop::kAcknowledgeRequeue;
  WDF_TRI_STATE power_managed = WdfUseDefault;
  WDFDEVICE device = nullptr;
  WDFQUEUE queue = nullptr;
  int ready_calls = 0;
  std::vector<ULONG> stop_flags;
  std::vector<WDFREQUEST> resumed;
};
PowerDriver* g_power = nullptr;

VOID Ready(WDFQUEUE, WDFCONTEXT) { ++g_power->ready_calls; }
VOID CancelRoutine(WDFREQUEST request) { WdfRequestComplete(request, STATUS_CANCELLED); }

VOID IoStop(WDFQUEUE, WDFREQUEST request, ULONG action_flags) {
  g_power->stop_flags.push_back(action_flags);
  switch (g_power->on_stop) {
    case OnStop::kAcknowledgeRequeue:
      if (action_flags & WdfRequestStopRequestCancelable) {
        if (WdfRequestUnmarkCancelable(request) == STATUS_CANCELLED) return;  // the cancel routine completes it
      }
      WdfRequestStopAcknowledge(request, TRUE);
      break;
    case OnStop::kAcknowledgeKeep: WdfRequestStopAcknowledge(request, FALSE); break;
    case OnStop::kComplete: WdfRequestComplete(request, STATUS_CANCELLED); break;
    default: break;
  }
}

VOID IoResume(WDFQUEUE, WDFREQUEST request) { g_power->resumed.push_back(request); }

NTSTATUS PowerDeviceAdd(WDFDRIVER, PWDFDEVICE_INIT init) {
  NTSTATUS status = WdfDeviceCreate(&init, WDF_NO_OBJECT_ATTRIBUTES, &g_power->device);
  if (!NT_SUCCESS(status)) return status;
  WDF_IO_QUEUE_CONFIG config;
  WDF_IO_QUEUE_CONFIG_INIT_DEFAULT_QUEUE(&config, WdfIoQueueDispatchManual);
  config.PowerManaged = g_power->power_managed;
  if (g_power->on_stop != OnStop::kNoCallback) config.EvtIoStop = IoStop;
  config.EvtIoResume = IoResume;
  status = WdfIoQueueCreate(g_power->device, &config, WDF_NO_OBJECT_ATTRIBUTES, &g_power->queue);
  if (!NT_SUCCESS(status)) return status;
  return WdfIoQueueReadyNotify(g_power->queue, Ready, nullptr);
}

NTSTATUS PowerDriverEntry(PDRIVER_OBJECT driver_object, PUNICODE_STRING registry_path) {
  WDF_DRIVER_CONFIG config;
  WDF_DRIVER_CONFIG_INIT(&config, PowerDeviceAdd);
  return WdfDriverCreate(driver_object, registry_path, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}

class PowerTest : public ::testing::Test {
 protected:
  void Load() {
    g_power = &driver_;
    sim_ = std::make_unique<wdfsim::Simulation>(choices_);
    lower_ = &sim_->AddLowerDevice({});
    ASSERT_EQ(sim_->LoadDriver(PowerDriverEntry), STATUS_SUCCESS);
    ASSERT_NE(sim_->AddDevice(*lower_), nullptr);
  }
  ~PowerTest() override {
    sim_.reset();
    g_power = nullptr;
  }
  size_t Arrive() {
    wdfsim::IoRequestSpec spec;
    spec.major_function = IRP_MJ_READ;
    spec.length = 8;
    return sim_->SendRequest(driver_.device, spec);
  }
  NTSTATUS Retrieve(WDFREQUEST* request) { return WdfIoQueueRetrieveNextRequest(driver_.queue, request); }
  ULONG State() { return WdfIoQueueGetState(driver_.queue, nullptr, nullptr); }
  std::string Reports() { return sim_->verdict().Summary(); }

  PowerDriver driver_;
  wdfsim::DefaultChoiceSource choices_;
  std::unique_ptr<wdfsim::Simulation> sim_;
  wdfsim::LowerDevice* lower_ = nullptr;
};

TEST_F(PowerTest, OutOfD0APowerManagedQueueHoldsArrivalsAndNotifiesOnReturn) {
  Load();
  sim_->PowerDown(driver_.device);
  EXPECT_TRUE(State() & WdfIoQueuePnpHeld);
  Arrive();
  EXPECT_EQ(driver_.ready_calls, 0);  // no delivery outside D0
  WDFREQUEST request = nullptr;
  EXPECT_EQ(Retrieve(&request), STATUS_WDF_PAUSED);
  sim_->PowerUp(driver_.device);
  EXPECT_FALSE(State() & WdfIoQueuePnpHeld);
  EXPECT_EQ(driver_.ready_calls, 1);  // a non-empty queue notifies at the return to D0
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  WdfRequestComplete(request, STATUS_SUCCESS);
  sim_->Unload();
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(PowerTest, EvtIoStopSuspendsEachHeldRequestOnceAndARequeuedOneIsDeliveredAgain) {
  Load();
  const size_t first = Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  sim_->PowerDown(driver_.device);
  ASSERT_EQ(driver_.stop_flags.size(), 1u);
  EXPECT_EQ(driver_.stop_flags[0], static_cast<ULONG>(WdfRequestStopActionSuspend));
  EXPECT_FALSE(State() & WdfIoQueueNoRequests);  // requeued: back in the queue
  sim_->PowerUp(driver_.device);
  EXPECT_TRUE(driver_.resumed.empty());  // EvtIoResume only after an acknowledgement without requeue
  WDFREQUEST again = nullptr;
  ASSERT_EQ(Retrieve(&again), STATUS_SUCCESS);
  EXPECT_EQ(again, request);
  WdfRequestComplete(again, STATUS_SUCCESS);
  sim_->Unload();
  EXPECT_EQ(sim_->io_outcomes()[first].completions, 1u);
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(PowerTest, AcknowledgedWithoutRequeueStaysTheDriversAndIsResumed) {
  driver_.on_stop = OnStop::kAcknowledgeKeep;
  Load();
  Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  sim_->PowerDown(driver_.device);
  EXPECT_FALSE(State() & WdfIoQueueDriverNoRequests);
  sim_->PowerUp(driver_.device);
  ASSERT_EQ(driver_.resumed.size(), 1u);
  EXPECT_EQ(driver_.resumed[0], request);
  WdfRequestComplete(request, STATUS_SUCCESS);
  sim_->Unload();
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(PowerTest, CancelableRequestIsFlaggedSoTheDriverUnmarksBeforeRequeue) {
  Load();
  Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  ASSERT_EQ(WdfRequestMarkCancelableEx(request, CancelRoutine), STATUS_SUCCESS);
  sim_->PowerDown(driver_.device);
  ASSERT_EQ(driver_.stop_flags.size(), 1u);
  EXPECT_EQ(driver_.stop_flags[0], static_cast<ULONG>(WdfRequestStopActionSuspend | WdfRequestStopRequestCancelable));
  sim_->PowerUp(driver_.device);
  WDFREQUEST again = nullptr;
  ASSERT_EQ(Retrieve(&again), STATUS_SUCCESS);
  WdfRequestComplete(again, STATUS_SUCCESS);
  sim_->Unload();
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(PowerTest, EvtIoStopThatCompletesLetsTheDeviceLeaveD0) {
  driver_.on_stop = OnStop::kComplete;
  Load();
  const size_t first = Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  sim_->PowerDown(driver_.device);
  EXPECT_EQ(sim_->io_outcomes()[first].status, STATUS_CANCELLED);
  sim_->Unload();
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

TEST_F(PowerTest, AHeldRequestNobodyFinishesKeepsTheDeviceInD0ForeverIsLiveness) {
  driver_.on_stop = OnStop::kIgnore;  // EvtIoStop neither completes nor acknowledges
  Load();
  Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  EXPECT_THROW(sim_->PowerDown(driver_.device), BugCheck);
  EXPECT_EQ(sim_->verifier().Count(RuleId::kLiveness), 1u) << Reports();
}

TEST_F(PowerTest, WithoutEvtIoStopTheFrameworkWaitsForTheDriversRequests) {
  driver_.on_stop = OnStop::kNoCallback;
  Load();
  Arrive();
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  EXPECT_THROW(sim_->PowerDown(driver_.device), BugCheck);  // nothing completes it
  EXPECT_TRUE(driver_.stop_flags.empty());
  EXPECT_EQ(sim_->verifier().Count(RuleId::kLiveness), 1u) << Reports();
}

TEST_F(PowerTest, AQueueThatIsNotPowerManagedKeepsDeliveringOutOfD0) {
  driver_.power_managed = WdfFalse;
  Load();
  sim_->PowerDown(driver_.device);
  EXPECT_FALSE(State() & WdfIoQueuePnpHeld);
  Arrive();
  EXPECT_EQ(driver_.ready_calls, 1);
  WDFREQUEST request = nullptr;
  ASSERT_EQ(Retrieve(&request), STATUS_SUCCESS);
  WdfRequestComplete(request, STATUS_SUCCESS);
  sim_->PowerUp(driver_.device);
  sim_->Unload();
  EXPECT_TRUE(sim_->verdict().clean()) << Reports();
}

}  // namespace
