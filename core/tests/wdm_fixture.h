// Shared helpers of the WDM conformance tests (wdm_irp_test.cc,
// wdm_cancel_test.cc, wdm_thread_test.cc, wdm_wait_test.cc): a fixture whose
// ChoiceSource can be replaced, a device of the test's own (DRIVER_OBJECT and
// DEVICE_OBJECT filled by hand, dispatch behaviour per test), a recording
// completion routine, and observers for the thread IRP list and the trace.
// Each test pins one case of SEMANTICS-WDM.md part C (CaseCnn_) or one
// section of part A (A<section>_).
#ifndef WDFSIM_CORE_TESTS_WDM_FIXTURE_H_
#define WDFSIM_CORE_TESTS_WDM_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wdfsim/harness/choice_source.h"
#include "wdfsim/harness/lower_driver.h"
#include "wdfsim/harness/simulation.h"
#include "wdfsim/harness/trace.h"
#include "wdfsim/harness/verifier.h"
#include "wdfsim/wdm.h"

namespace wdfsim_wdm_test {

constexpr NTSTATUS kSentinelStatus = static_cast<NTSTATUS>(0xdeadbeef);
constexpr ULONG_PTR kSentinelInformation = 0xdeadbeef;
constexpr int64_t kMillisecond = 10000;  // 100 ns units
constexpr int64_t kSecond = 1000 * kMillisecond;

inline IO_STATUS_BLOCK SentinelIosb() {
  IO_STATUS_BLOCK iosb;
  memset(&iosb, 0, sizeof(iosb));
  iosb.Status = kSentinelStatus;
  iosb.Information = kSentinelInformation;
  return iosb;
}
inline bool IosbUntouched(const IO_STATUS_BLOCK& iosb) {
  return iosb.Status == kSentinelStatus && iosb.Information == kSentinelInformation;
}

// ---- A device of the test's own ----

struct TestDevice;
using DispatchFn = std::function<NTSTATUS(TestDevice&, PIRP)>;

inline NTSTATUS TestDeviceDispatch(PDEVICE_OBJECT device, PIRP irp);

// IoCallDriver calls DeviceObject->DriverObject->MajorFunction[major]: every
// major goes to TestDeviceDispatch, which finds this object in the device
// extension and runs `on_dispatch`.
struct TestDevice {
  explicit TestDevice(CCHAR stack_size = 1, ULONG flags = DO_BUFFERED_IO, DispatchFn dispatch = nullptr)
      : on_dispatch(std::move(dispatch)) {
    driver.Type = 4;
    driver.Size = sizeof(driver);
    for (auto& entry : driver.MajorFunction) entry = TestDeviceDispatch;
    driver.DeviceObject = &device;
    device.Type = 3;
    device.Size = sizeof(device);
    device.DriverObject = &driver;
    device.StackSize = stack_size;
    device.Flags = flags;
    device.DeviceExtension = this;
    device.DeviceType = FILE_DEVICE_UNKNOWN;
  }
  TestDevice(const TestDevice&) = delete;
  TestDevice& operator=(const TestDevice&) = delete;

  PDEVICE_OBJECT dev() { return &device; }

  DRIVER_OBJECT driver{};
  DEVICE_OBJECT device{};
  DispatchFn on_dispatch;
  std::vector<PIRP> seen;  // every IRP the dispatch routine received, in order
  // What the dispatch routine saw of its own stack location at entry.
  CHAR location_at_dispatch = 0;
  PDEVICE_OBJECT location_device_at_dispatch = nullptr;
};

inline NTSTATUS TestDeviceDispatch(PDEVICE_OBJECT device, PIRP irp) {
  auto* self = static_cast<TestDevice*>(device->DeviceExtension);
  self->seen.push_back(irp);
  self->location_at_dispatch = irp->CurrentLocation;
  self->location_device_at_dispatch = IoGetCurrentIrpStackLocation(irp)->DeviceObject;
  if (!self->on_dispatch) {
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  }
  return self->on_dispatch(*self, irp);
}

// Dispatch behaviours.
inline DispatchFn CompleteInline(NTSTATUS status, ULONG_PTR information = 0) {
  return [status, information](TestDevice&, PIRP irp) {
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
  };
}
// IoMarkIrpPending + STATUS_PENDING; the test completes the IRP later.
inline DispatchFn PendWithoutCancelRoutine() {
  return [](TestDevice&, PIRP irp) {
    IoMarkIrpPending(irp);
    return STATUS_PENDING;
  };
}
// Completes an IRP the test's device pended, as the device would from its DPC.
inline void CompleteLater(PIRP irp, NTSTATUS status, ULONG_PTR information = 0) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
}

// ---- A completion routine that records what it saw ----

struct CompletionProbe {
  int calls = 0;
  PDEVICE_OBJECT device = reinterpret_cast<PDEVICE_OBJECT>(1);  // overwritten on the first call
  BOOLEAN pending_returned = FALSE;
  CHAR current_location = 0;
  NTSTATUS status = 0;
  BOOLEAN cancel = FALSE;
  KIRQL irql = 0;
  // What the routine does.
  NTSTATUS result = STATUS_CONTINUE_COMPLETION;
  bool mark_pending_if_returned = true;  // the documented obligation
  bool free_irp = false;                 // IoFreeIrp before returning (creator of an IoAllocateIrp IRP)
  PKEVENT signal = nullptr;              // KeSetEvent (SignalEventInCompletion pattern)
};

inline NTSTATUS ProbeCompletion(PDEVICE_OBJECT device, PIRP irp, PVOID context) {
  auto* probe = static_cast<CompletionProbe*>(context);
  probe->calls++;
  probe->device = device;
  probe->pending_returned = irp->PendingReturned;
  probe->current_location = irp->CurrentLocation;
  probe->status = irp->IoStatus.Status;
  probe->cancel = irp->Cancel;
  probe->irql = KeGetCurrentIrql();
  if (probe->mark_pending_if_returned && irp->PendingReturned && probe->result != STATUS_MORE_PROCESSING_REQUIRED &&
      irp->CurrentLocation <= irp->StackCount) {
    IoMarkIrpPending(irp);
  }
  if (probe->signal != nullptr) KeSetEvent(probe->signal, IO_NO_INCREMENT, FALSE);
  if (probe->free_irp) IoFreeIrp(irp);
  return probe->result;
}

// ---- Observers ----

// The thread's IRP list head is not public: it lives inside the object
// Tail.Overlay.Thread points to. This mirrors the front of core SimThread
// (thread.h) only to bound where that head can be.
struct ThreadObjectBound {
  uint32_t id;
  std::string name;
  LIST_ENTRY irp_list;
  bool exiting;
};

// The list head of the thread list `irp` is on: the one ring member that lies
// inside `thread`'s object. nullptr if the IRP is on no list of that thread.
inline PLIST_ENTRY ThreadListHeadOf(PIRP irp, PETHREAD thread) {
  if (thread == nullptr) return nullptr;
  const char* lo = reinterpret_cast<const char*>(thread);
  const char* hi = lo + sizeof(ThreadObjectBound);
  PLIST_ENTRY start = &irp->ThreadListEntry;
  int guard = 0;
  for (PLIST_ENTRY e = start->Flink; e != start && guard < 10000; e = e->Flink, ++guard) {
    const char* p = reinterpret_cast<const char*>(e);
    if (p >= lo && p < hi) return e;
  }
  return nullptr;
}
inline bool OnThreadList(PIRP irp, PETHREAD thread) { return ThreadListHeadOf(irp, thread) != nullptr; }
inline bool ListEmpty(PLIST_ENTRY head) { return head->Flink == head && head->Blink == head; }
// Entries on a list, the head excluded.
inline size_t ListLength(PLIST_ENTRY head) {
  size_t n = 0;
  for (PLIST_ENTRY e = head->Flink; e != head && n < 10000; e = e->Flink) ++n;
  return n;
}
inline PIRP IrpOfEntry(PLIST_ENTRY entry) {
  return reinterpret_cast<PIRP>(reinterpret_cast<char*>(entry) - offsetof(IRP, ThreadListEntry));
}

// Holds the running thread at APC_LEVEL while it lives: the completion APC of
// an IRP the thread completes stays queued until the hold ends (the kernel
// delivers it when IRQL drops below APC_LEVEL), so a test can look at the IRP
// between IofCompleteRequest and IopCompleteRequest.
class ApcHold {
 public:
  ApcHold() : simulation_(*wdfsim::Simulation::Current()), old_(simulation_.irql()) { simulation_.SetIrql(APC_LEVEL); }
  ~ApcHold() { Release(); }
  ApcHold(const ApcHold&) = delete;
  ApcHold& operator=(const ApcHold&) = delete;
  // Lowers IRQL again (the queued APCs run now); a no-op after a bug check.
  void Release() {
    if (!held_) return;
    held_ = false;
    if (!simulation_.verifier().bugchecked()) simulation_.SetIrql(old_);
  }

 private:
  wdfsim::Simulation& simulation_;
  KIRQL old_;
  bool held_ = true;
};

class WdmTest : public ::testing::Test {
 protected:
  WdmTest() { Start(); }
  ~WdmTest() override { sim_.reset(); }

  // Replaces the simulation (one at a time); `choices` defaults to a
  // DefaultChoiceSource.
  void Start(wdfsim::SimulationOptions options = {}, std::unique_ptr<wdfsim::ChoiceSource> choices = nullptr) {
    sim_.reset();
    choices_ = choices ? std::move(choices) : std::make_unique<wdfsim::DefaultChoiceSource>();
    sim_ = std::make_unique<wdfsim::Simulation>(*choices_, options);
  }
  void StartScripted(std::vector<uint32_t> answers, wdfsim::SimulationOptions options = {}) {
    Start(options, std::make_unique<wdfsim::ScriptedChoiceSource>(std::move(answers)));
  }

  wdfsim::Simulation& sim() { return *sim_; }
  const std::vector<wdfsim::Report>& reports() { return sim_->verifier().reports(); }
  size_t Count(wdfsim::RuleId rule) { return sim_->verifier().Count(rule); }
  std::string LastRule() { return reports().empty() ? std::string() : std::string(reports().back().rule_info().name); }
  bool Reported(std::string_view name) {
    for (const auto& r : reports()) {
      if (r.rule_info().name == name) return true;
    }
    return false;
  }
  std::string AllReports() { return sim_->verdict().Summary(); }

  size_t CountEvents(wdfsim::EventKind kind) {
    size_t n = 0;
    for (const auto& e : sim_->trace().events()) n += e.kind == kind;
    return n;
  }
  bool TraceMentions(const std::string& text) { return sim_->trace().FormatAll().find(text) != std::string::npos; }

  wdfsim::LowerDevice& Lower(std::vector<wdfsim::LowerAnswer> script, ULONG flags = DO_BUFFERED_IO,
                             CCHAR stack_size = 1) {
    wdfsim::LowerDeviceOptions options;
    options.stack_size = stack_size;
    options.flags = flags;
    options.script = std::move(script);
    options.answers_from_choices = false;
    return sim().AddLowerDevice(std::move(options));
  }
  static wdfsim::LowerAnswer Inline(NTSTATUS status, ULONG_PTR information = wdfsim::LowerAnswer::kWholeLength) {
    wdfsim::LowerAnswer a;
    a.kind = wdfsim::LowerAnswer::Kind::kCompleteInline;
    a.status = status;
    a.information = information;
    return a;
  }
  static wdfsim::LowerAnswer Pend(
      NTSTATUS status, int64_t delay, ULONG_PTR information = 0,
      wdfsim::LowerAnswer::OnCancel on_cancel = wdfsim::LowerAnswer::OnCancel::kCompleteCancelled) {
    wdfsim::LowerAnswer a;
    a.kind = wdfsim::LowerAnswer::Kind::kPend;
    a.status = status;
    a.information = information;
    a.delay = delay;
    a.on_cancel = on_cancel;
    return a;
  }
  static wdfsim::LowerAnswer PendForever(
      wdfsim::LowerAnswer::OnCancel on_cancel = wdfsim::LowerAnswer::OnCancel::kCompleteCancelled) {
    wdfsim::LowerAnswer a;
    a.kind = wdfsim::LowerAnswer::Kind::kPendForever;
    a.on_cancel = on_cancel;
    return a;
  }

  // KeWaitForSingleObject with a relative timeout (negative, 100 ns units).
  static NTSTATUS WaitFor(PKEVENT event, int64_t relative_timeout) {
    LARGE_INTEGER timeout;
    timeout.QuadPart = -relative_timeout;
    return KeWaitForSingleObject(event, Executive, KernelMode, FALSE, &timeout);
  }
  static NTSTATUS WaitForever(PKEVENT event) {
    return KeWaitForSingleObject(event, Executive, KernelMode, FALSE, nullptr);
  }

  std::unique_ptr<wdfsim::ChoiceSource> choices_;
  std::unique_ptr<wdfsim::Simulation> sim_;
};

}  // namespace wdfsim_wdm_test

#endif  // WDFSIM_CORE_TESTS_WDM_FIXTURE_H_
