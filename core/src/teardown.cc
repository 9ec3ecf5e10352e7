// Driver unload and the teardown checks (SEMANTICS-WDF 6.3; RequestCompleted
// of SEMANTICS-WDM B.1): what the driver left behind is reported, then the
// driver object's deletion reclaims it.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "device.h"
#include "irp.h"
#include "memory.h"
#include "queue.h"
#include "request.h"
#include "world.h"

namespace wdfsim::core {

void World::Unload() {
  if (unloaded_) return;
  ThrowIfCrashed(Ddi::kUnload);
  Log(EventKind::kUnload, Ddi::kUnload);
  RunReadyWork();

  // A manual queue the driver stopped draining: its requests would wait
  // forever, since no arrival on a non-empty queue notifies again (5.1).
  for (Device* device : driver_->devices()) {
    for (Queue* queue : device->queues()) {
      if (queue->manual() && queue->dispatching() && queue->queued_count() > 0 && queue->HasReadyNotify() &&
          !queue->transition_from_empty()) {
        Report(RuleId::kManualQueueStalled, Ddi::kUnload,
               absl::StrFormat("%s holds %d request%s and will not notify its ready callback again",
                               trace_.ObjectName(queue->serial()), queue->queued_count(),
                               queue->queued_count() == 1 ? "" : "s"),
               {queue});
      }
    }
  }

  // Device removal: each queue stops, EvtIoStop runs for the requests the
  // driver holds, queued and driver-cancelable requests are canceled; then
  // EvtDriverUnload.
  for (Device* device : driver_->devices()) {
    const std::vector<Queue*> queues = device->queues();
    for (Queue* queue : queues) queue->PurgeForRemove(Ddi::kUnload);
  }
  RunReadyWork();
  if (driver_->created() && driver_->config().EvtDriverUnload != nullptr) {
    Log(EventKind::kQueueCallback, Ddi::kUnload, 0, static_cast<int64_t>(QueueCallback::kDriverUnload), 0);
    driver_->config().EvtDriverUnload(static_cast<WDFDRIVER>(driver_->handle()));
    RunReadyWork();
  }

  // Requests presented to the driver that it never completed.
  std::vector<uint32_t> reported;
  for (const IoOutcome& outcome : io_outcomes_) {
    if (outcome.completions > 0 || !outcome.presented) continue;
    auto* request = static_cast<Request*>(handles_.Lookup(outcome.request));
    const char* major = outcome.major_function == IRP_MJ_READ    ? "IRP_MJ_READ"
                        : outcome.major_function == IRP_MJ_WRITE ? "IRP_MJ_WRITE"
                                                                 : "IRP_MJ_DEVICE_CONTROL family";
    if (request != nullptr && request->deferred()) {
      Report(RuleId::kDeferredRequestCompleted, Ddi::kUnload,
             absl::StrFormat("%s (%s) was deferred by the driver and never completed",
                             trace_.ObjectName(outcome.request_serial), major),
             {request});
    } else {
      Report(RuleId::kRequestCompleted, Ddi::kUnload,
             absl::StrFormat("%s (%s) was presented to the driver and never completed",
                             trace_.ObjectName(outcome.request_serial), major),
             {request});
    }
    reported.push_back(outcome.request_serial);
  }

  // Memory and requests the driver created and never deleted, under the
  // driver or any of its devices.
  std::vector<Object*> created;
  std::vector<Object*> parents = {driver_};
  while (!parents.empty()) {
    Object* parent = parents.back();
    parents.pop_back();
    for (Object* child : parent->children()) {
      if (child->type() == ObjectType::kDevice || child->type() == ObjectType::kQueue) parents.push_back(child);
      if (child->type() == ObjectType::kMemory ||
          (child->type() == ObjectType::kRequest && !static_cast<Request*>(child)->from_io())) {
        created.push_back(child);
      }
    }
  }
  std::sort(created.begin(), created.end(), [](const Object* a, const Object* b) { return a->serial() < b->serial(); });
  for (Object* child : created) {
    Report(RuleId::kObjectLeak, Ddi::kUnload,
           absl::StrFormat("%s was never deleted", trace_.ObjectName(child->serial())), {child});
    reported.push_back(child->serial());
  }

  // Synchronous builder IRPs whose IoCallDriver returned STATUS_PENDING and
  // whose caller never waited on the event.
  std::vector<std::pair<uint32_t, IrpOrigin>> unwaited;
  ForEachIrp([&](const IRP*, IrpRecord& record) {
    if ((record.origin == IrpOrigin::kSyncFsd || record.origin == IrpOrigin::kDeviceControl) &&
        record.pending_returned && !record.waited) {
      unwaited.emplace_back(record.serial, record.origin);
    }
  });
  std::sort(unwaited.begin(), unwaited.end());
  for (const auto& [serial, origin] : unwaited) {
    Report(RuleId::kIoBuildSynchronousFsdRequestWait, Ddi::kUnload,
           absl::StrFormat("IoCallDriver returned STATUS_PENDING for IRP#%d (%s) and its event was never waited on",
                           serial, IrpOriginName(origin)));
  }

  // IRPs the driver built or allocated and never gave back (SEMANTICS-WDM
  // A.3.2, A.3.3: the builder's IRPs are freed by the I/O manager's APC, the
  // others by the driver's IoFreeIrp). Framework IRPs belong to requests, and
  // presented ones are RequestCompleted above.
  std::vector<std::pair<uint32_t, std::string>> leaked;
  ForEachIrp([&](const IRP* irp, IrpRecord& record) {
    if (record.freed || record.origin == IrpOrigin::kFramework || record.origin == IrpOrigin::kIoManager) return;
    const char* where = irp->CurrentLocation <= irp->StackCount ? "still pending below"
                        : IrpFullyCompleted(irp)                ? "completed, its completion APC not yet run"
                                                 : "held by its creator (never sent, or kept after its completion "
                                                   "routine returned STATUS_MORE_PROCESSING_REQUIRED)";
    leaked.emplace_back(record.serial, absl::StrFormat("IRP#%d (%s) is still allocated at unload: %s", record.serial,
                                                       IrpOriginName(record.origin), where));
  });
  std::sort(leaked.begin(), leaked.end());
  for (const auto& [serial, message] : leaked) Report(RuleId::kIrpLeak, Ddi::kUnload, message);

  Driver* driver = driver_;
  driver->DeleteTree(Ddi::kUnload);
  driver_ = nullptr;
  RunReadyWork();

  // Whatever is still alive holds a reference nobody released.
  std::vector<Object*> survivors;
  for (const auto& [serial, object] : live_) {
    if (object->type() == ObjectType::kRequestMemory) continue;  // lives inside its request
    if (std::find(reported.begin(), reported.end(), serial) != reported.end()) continue;
    survivors.push_back(object);
  }
  for (Object* object : survivors) {
    Report(RuleId::kReferenceLeak, Ddi::kUnload,
           absl::StrFormat("%s is still alive after unload with %d outstanding reference%s",
                           trace_.ObjectName(object->serial()), object->references(),
                           object->references() == 1 ? "" : "s"),
           {object});
  }
  unloaded_ = true;
}

}  // namespace wdfsim::core
