#include "queue.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "device.h"
#include "irp.h"
#include "request.h"
#include "world.h"

namespace wdfsim::core {
namespace {

void Erase(std::vector<Request*>& list, const Request* request) {
  list.erase(std::remove(list.begin(), list.end(), request), list.end());
}

void Erase(std::deque<Request*>& list, const Request* request) {
  list.erase(std::remove(list.begin(), list.end(), request), list.end());
}

WDFQUEUE HandleOf(const Queue& queue) { return static_cast<WDFQUEUE>(queue.handle()); }
WDFREQUEST HandleOf(const Request& request) { return static_cast<WDFREQUEST>(request.handle()); }

// The request the framework's cancel routine is called for (stored in the
// IRP's DriverContext while the framework holds it, as FxIrp does).
Request* RequestOfIrp(PIRP irp) { return static_cast<Request*>(irp->Tail.Overlay.DriverContext[3]); }

}  // namespace

Queue::Queue(World& world, Device& device, const WDF_IO_QUEUE_CONFIG& config)
    : Object(world, ObjectType::kQueue),
      device_(device),
      config_(config),
      power_managed_(config.PowerManaged == WdfTrue || (config.PowerManaged == WdfUseDefault && !device.filter())) {}

WDF_IO_QUEUE_STATE Queue::State() const {
  int state = 0;
  if (accept_) state |= WdfIoQueueAcceptRequests;
  if (dispatch_) state |= WdfIoQueueDispatchRequests;
  if (queued_.empty()) state |= WdfIoQueueNoRequests;
  if (owned_.empty()) state |= WdfIoQueueDriverNoRequests;
  if (powered_off_) state |= WdfIoQueuePnpHeld;
  return static_cast<WDF_IO_QUEUE_STATE>(state);
}

bool Queue::Owns(const Request* request) const {
  return std::find(owned_.begin(), owned_.end(), request) != owned_.end();
}

bool Queue::Holds(const Request* request) const {
  return std::find(queued_.begin(), queued_.end(), request) != queued_.end();
}

void Queue::Insert(Request& request, bool at_head, Ddi ddi) {
  request.set_queue(this);
  request.set_driver_owned(false);
  IRP* irp = request.irp();
  irp->Tail.Overlay.DriverContext[3] = &request;
  irp->CancelRoutine = &QueueIrpCancel;
  if (at_head) {
    queued_.push_front(&request);
  } else {
    queued_.push_back(&request);
  }
  world().Log(EventKind::kRequestQueued, ddi, request.serial(), serial());
  CheckTransitionFromEmpty();
  // An IRP canceled before it reached the queue is canceled on it at once
  // (IoCsqInsertIrp runs the cancel for an IRP with Cancel set).
  if (irp->Cancel) {
    irp->CancelRoutine = nullptr;
    CancelQueued(request, Ddi::kQueueCancel);
  }
}

void Queue::CheckTransitionFromEmpty() {
  if (queued_.size() == 1 || force_transition_) {
    transition_from_empty_ = true;
    force_transition_ = false;
  }
}

NTSTATUS Queue::QueueRequest(Request& request, bool forwarded, Ddi ddi) {
  if (!accept_ || deleting()) {
    if (forwarded) return STATUS_INVALID_DEVICE_STATE;
    request.CompleteByFramework(STATUS_INVALID_DEVICE_STATE, ddi);
    return STATUS_INVALID_DEVICE_STATE;
  }
  Insert(request, /*at_head=*/false, ddi);
  DispatchEvents();
  return STATUS_SUCCESS;
}

NTSTATUS Queue::Requeue(Request& request, Ddi ddi) {
  Queue* from = request.queue();
  if (from != nullptr) from->ReleaseOwnership(&request);
  request.set_deferred();
  if (cancel_dispatched_requests_) {
    // After StopAndPurge a requeued request is canceled, not queued.
    request.CompleteByFramework(STATUS_CANCELLED, ddi);
    DispatchEvents();
    return STATUS_SUCCESS;
  }
  Insert(request, /*at_head=*/true, ddi);
  DispatchEvents();
  return STATUS_SUCCESS;
}

void Queue::ReleaseOwnership(const Request* request) {
  Erase(owned_, request);
  Erase(suspended_, request);
}

void Queue::PowerOff(Ddi ddi) {
  if (!power_managed_ || powered_off_) return;
  powered_off_ = true;
  if (config_.EvtIoStop == nullptr) return;  // the framework waits for every request to complete
  const std::vector<Request*> owned = owned_;
  for (Request* request : owned) {
    if (!Owns(request)) continue;
    ULONG flags = WdfRequestStopActionSuspend;
    if (request->cancelable()) flags |= WdfRequestStopRequestCancelable;
    world().Log(EventKind::kQueueCallback, ddi, serial(), static_cast<int64_t>(QueueCallback::kIoStop),
                request->serial());
    config_.EvtIoStop(HandleOf(*this), HandleOf(*request), flags);
  }
}

bool Queue::PowerOffDone() const {
  return std::all_of(owned_.begin(), owned_.end(), [this](const Request* request) {
    return std::find(suspended_.begin(), suspended_.end(), request) != suspended_.end();
  });
}

void Queue::StopAcknowledged(Request* request) {
  if (powered_off_ && Owns(request) && std::find(suspended_.begin(), suspended_.end(), request) == suspended_.end()) {
    suspended_.push_back(request);
  }
}

void Queue::PowerOn(Ddi ddi) {
  if (!powered_off_) return;
  powered_off_ = false;
  const std::vector<Request*> suspended = std::move(suspended_);
  suspended_.clear();
  if (config_.EvtIoResume != nullptr) {
    for (Request* request : suspended) {
      if (!Owns(request)) continue;
      world().Log(EventKind::kQueueCallback, ddi, serial(), static_cast<int64_t>(QueueCallback::kIoResume),
                  request->serial());
      config_.EvtIoResume(HandleOf(*this), HandleOf(*request));
    }
  }
  // StartPowerTransitionOn: as QueueStart, a non-empty queue notifies.
  if (!queued_.empty()) transition_from_empty_ = true;
  DispatchEvents();
}

void Queue::ProcessEvents() { DispatchEvents(); }

NTSTATUS Queue::ReadyNotify(PFN_WDF_IO_QUEUE_STATE method, WDFCONTEXT context, Ddi ddi) {
  World& w = world();
  if (!manual()) {
    w.Report(RuleId::kReadyNotifyMisuse, ddi, "WdfIoQueueReadyNotify on a queue that is not manual", {this});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (deleting()) return STATUS_DELETE_PENDING;
  if (method != nullptr) {
    if (ready_.method != nullptr) {
      w.Report(RuleId::kReadyNotifyMisuse, ddi, "a ready callback is already registered on the queue", {this});
      return STATUS_INVALID_DEVICE_REQUEST;
    }
    ready_.method = method;
    ready_.context = context;
  } else {
    if (ready_.method == nullptr) {
      w.Report(RuleId::kReadyNotifyMisuse, ddi, "no ready callback is registered to remove", {this});
      return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (dispatch_) {
      w.Report(RuleId::kReadyNotifyMisuse, ddi,
               "the ready callback is removed while the queue dispatches; stop the queue first", {this});
      return STATUS_INVALID_DEVICE_REQUEST;
    }
    ready_ = Callback{};
  }
  // A transition already pending is delivered before this DDI returns.
  DispatchEvents();
  return STATUS_SUCCESS;
}

NTSTATUS Queue::Retrieve(const Object* file_object, Request** out, Ddi ddi) {
  *out = nullptr;
  if (config_.DispatchType == WdfIoQueueDispatchParallel) return STATUS_INVALID_DEVICE_STATE;
  if (config_.DispatchType == WdfIoQueueDispatchSequential && owned_.empty() && world().verifier_on()) {
    world().Report(RuleId::kRetrieveFromIdleSequentialQueue, ddi,
                   "a sequential queue with no driver-owned request: the framework presents its requests", {this});
  }
  if (!dispatch_ || powered_off_) return STATUS_WDF_PAUSED;
  while (true) {
    auto it = std::find_if(queued_.begin(), queued_.end(), [&](const Request* r) {
      return file_object == nullptr || static_cast<const Object*>(r->file_object()) == file_object;
    });
    if (it == queued_.end()) {
      // Requests remain (of other file objects): the next arrival must
      // notify although the queue is not empty (the force flag, 5.1).
      if (!queued_.empty()) force_transition_ = true;
      return STATUS_NO_MORE_ENTRIES;
    }
    Request* request = *it;
    queued_.erase(it);
    request->irp()->CancelRoutine = nullptr;  // out of the queue: not cancelable there any more
    if (CompletedAsZeroLength(*request, ddi)) continue;
    owned_.push_back(request);
    request->set_driver_owned(true);
    request->set_presented();
    *out = request;
    return STATUS_SUCCESS;
  }
}

void Queue::Start(Ddi ddi) {
  (void)ddi;
  accept_ = true;
  dispatch_ = true;
  if (!queued_.empty()) transition_from_empty_ = true;
  DispatchEvents();
}

void Queue::FatalError(NTSTATUS status, Ddi ddi, const char* what) {
  world().Report(RuleId::kQueueFatalError, ddi,
                 absl::StrFormat("%s (status 0x%08X)", what, static_cast<uint32_t>(status)), {this},
                 reinterpret_cast<uint64_t>(handle()), static_cast<uint32_t>(status));
}

void Queue::Idle(bool cancel_requests, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi) {
  if (deleting()) FatalError(STATUS_DELETE_PENDING, ddi, "the queue is being deleted");
  if (done != nullptr && idle_.pending()) {
    FatalError(STATUS_INVALID_DEVICE_REQUEST, ddi, "a stop-complete callback is already pending on the queue");
  }
  // SetState(AcceptRequests | ClearDispatchRequests): arrivals are queued.
  accept_ = true;
  dispatch_ = false;
  if (done != nullptr) {
    idle_.method = done;
    idle_.context = context;
  }
  if (cancel_requests) {
    cancel_dispatched_requests_ = true;
    CancelQueuedRequests(ddi);
    CancelDriverCancelable(ddi);
  }
  DispatchEvents();
}

void Queue::Purge(bool cancel_requests, PFN_WDF_IO_QUEUE_STATE done, WDFCONTEXT context, Ddi ddi) {
  if (deleting()) FatalError(STATUS_DELETE_PENDING, ddi, "the queue is being deleted");
  if (done != nullptr && purge_.pending()) {
    FatalError(STATUS_INVALID_DEVICE_REQUEST, ddi, "a purge-complete callback is already pending on the queue");
  }
  accept_ = false;
  if (done != nullptr) {
    purge_.method = done;
    purge_.context = context;
  }
  if (cancel_requests) {
    CancelQueuedRequests(ddi);
    CancelDriverCancelable(ddi);
  }
  DispatchEvents();
}

void Queue::WaitFor(bool purge, bool cancel_requests, Ddi ddi) {
  World& w = world();
  if (!w.VerifierIrqlOk(ddi, PASSIVE_LEVEL)) return;  // the verifier returns silently
  Callback& slot = purge ? purge_ : idle_;
  if (slot.pending()) {
    FatalError(STATUS_INVALID_DEVICE_REQUEST, ddi, "a completion callback is already pending on the queue");
  }
  bool done = false;
  slot.internal = [&done] { done = true; };
  if (purge) {
    Purge(cancel_requests, nullptr, nullptr, ddi);
  } else {
    Idle(cancel_requests, nullptr, nullptr, ddi);
  }
  w.WaitUntil([&done] { return done; }, INT64_MAX, ddi, DdiName(ddi));
}

void Queue::RequestCompleted(const Request* request) {
  Erase(owned_, request);
  Erase(suspended_, request);
  Erase(queued_, request);
  DispatchEvents();
}

void Queue::CancelQueued(Request& request, Ddi ddi) {
  Erase(queued_, &request);
  if (config_.EvtIoCanceledOnQueue != nullptr && request.presented()) {
    // The driver owns it again and must complete it.
    owned_.push_back(&request);
    request.set_driver_owned(true);
    world().Log(EventKind::kQueueCallback, ddi, serial(), static_cast<int64_t>(QueueCallback::kIoCanceledOnQueue),
                request.serial());
    config_.EvtIoCanceledOnQueue(HandleOf(*this), HandleOf(request));
  } else {
    request.CompleteByFramework(STATUS_CANCELLED, ddi);
  }
  DispatchEvents();
}

void Queue::CancelQueuedRequests(Ddi ddi) {
  while (!queued_.empty()) {
    Request* request = queued_.front();
    request->irp()->CancelRoutine = nullptr;
    CancelQueued(*request, ddi);
  }
}

void Queue::CancelDriverCancelable(Ddi ddi) {
  // CancelForDriver: the driver's EvtRequestCancel for each request it marked
  // cancelable, as IoCancelIrp would run it.
  const std::vector<Request*> owned = owned_;
  for (Request* request : owned) {
    if (!Owns(request) || !request->cancelable() || request->irp() == nullptr) continue;
    CancelIrp(world(), request->irp(), ddi);
  }
}

void Queue::PurgeForRemove(Ddi ddi) {
  if (config_.EvtIoStop != nullptr) {
    const std::vector<Request*> owned = owned_;
    for (Request* request : owned) {
      if (!Owns(request)) continue;
      ULONG flags = WdfRequestStopActionPurge;
      if (request->cancelable()) flags |= WdfRequestStopRequestCancelable;
      world().Log(EventKind::kQueueCallback, ddi, serial(), static_cast<int64_t>(QueueCallback::kIoStop),
                  request->serial());
      config_.EvtIoStop(HandleOf(*this), HandleOf(*request), flags);
    }
  }
  accept_ = false;
  dispatch_ = false;
  CancelQueuedRequests(ddi);
  CancelDriverCancelable(ddi);
}

bool Queue::CompletedAsZeroLength(Request& request, Ddi ddi) {
  const auto& p = request.parameters().Parameters;
  const bool zero_length = (request.major_function() == IRP_MJ_READ && p.Read.Length == 0) ||
                           (request.major_function() == IRP_MJ_WRITE && p.Write.Length == 0);
  if (!zero_length || config_.AllowZeroLengthRequests) return false;
  request.CompleteByFramework(STATUS_SUCCESS, ddi);  // the driver never sees it (5.2)
  return true;
}

bool Queue::CanPresent() const {
  switch (config_.DispatchType) {
    case WdfIoQueueDispatchSequential: return owned_.empty();
    case WdfIoQueueDispatchParallel: return owned_.size() < config_.Settings.Parallel.NumberOfPresentedRequests;
    default: return false;
  }
}

void Queue::Present(Request& request) {
  const WDFQUEUE queue = HandleOf(*this);
  const WDFREQUEST handle = HandleOf(request);
  const auto& p = request.parameters().Parameters;
  const UCHAR major = request.major_function();
  const auto present = [&](QueueCallback which) {
    owned_.push_back(&request);
    request.set_driver_owned(true);
    request.set_presented();
    world().Log(EventKind::kQueueCallback, Ddi::kQueueDispatch, serial(), static_cast<int64_t>(which),
                request.serial());
  };
  if (major == IRP_MJ_READ && config_.EvtIoRead != nullptr) {
    present(QueueCallback::kIoRead);
    config_.EvtIoRead(queue, handle, p.Read.Length);
  } else if (major == IRP_MJ_WRITE && config_.EvtIoWrite != nullptr) {
    present(QueueCallback::kIoWrite);
    config_.EvtIoWrite(queue, handle, p.Write.Length);
  } else if (major == IRP_MJ_DEVICE_CONTROL && config_.EvtIoDeviceControl != nullptr) {
    present(QueueCallback::kIoDeviceControl);
    config_.EvtIoDeviceControl(queue, handle, p.DeviceIoControl.OutputBufferLength, p.DeviceIoControl.InputBufferLength,
                               p.DeviceIoControl.IoControlCode);
  } else if (major == IRP_MJ_INTERNAL_DEVICE_CONTROL && config_.EvtIoInternalDeviceControl != nullptr) {
    present(QueueCallback::kIoInternalDeviceControl);
    config_.EvtIoInternalDeviceControl(queue, handle, p.DeviceIoControl.OutputBufferLength,
                                       p.DeviceIoControl.InputBufferLength, p.DeviceIoControl.IoControlCode);
  } else if (config_.EvtIoDefault != nullptr) {
    present(QueueCallback::kIoDefault);
    config_.EvtIoDefault(queue, handle);
  } else {
    // No callback for this request type: the framework fails it.
    request.CompleteByFramework(STATUS_INVALID_DEVICE_REQUEST, Ddi::kQueueDispatch);
  }
}

void Queue::Invoke(Callback callback, QueueCallback which) {
  world().Log(EventKind::kQueueCallback, Ddi::kQueueDispatch, serial(), static_cast<int64_t>(which), 0);
  if (callback.internal) callback.internal();
  if (callback.method != nullptr) callback.method(HandleOf(*this), callback.context);
}

void Queue::DispatchEvents() {
  if (dispatching_events_ > 0) {
    dispatch_again_ = true;
    return;
  }
  ++dispatching_events_;
  // One event per pass, in FxIoQueue::DispatchEvents' order: the idle and
  // purge callbacks, then ready notification or one presentation.
  while (true) {
    dispatch_again_ = false;
    // ProcessIdleComplete: no driver-owned request and no callback running
    // (a Start in between does not cancel it).
    if (idle_.pending() && owned_.empty()) {
      Callback callback = idle_;
      idle_ = Callback{};
      Invoke(callback, QueueCallback::kStopComplete);
      continue;
    }
    if (purge_.pending() && queued_.empty() && owned_.empty()) {
      Callback callback = purge_;
      purge_ = Callback{};
      Invoke(callback, QueueCallback::kPurgeComplete);
      continue;
    }
    if (powered_off_) {
      // Neither notification nor presentation in a low power state (5.1).
    } else if (manual()) {
      if (dispatch_ && ready_.method != nullptr && transition_from_empty_) {
        // ProcessReadyNotify consumes the transition before calling back.
        transition_from_empty_ = false;
        Invoke(ready_, QueueCallback::kReadyNotify);
        continue;
      }
    } else if (dispatch_ && !queued_.empty() && CanPresent()) {
      Request* request = queued_.front();
      queued_.pop_front();
      request->irp()->CancelRoutine = nullptr;  // out of the queue: not cancelable there any more
      if (!CompletedAsZeroLength(*request, Ddi::kQueueDispatch)) Present(*request);
      continue;
    }
    if (!dispatch_again_) break;
  }
  --dispatching_events_;
}

void Queue::Dispose() {
  device_.RemoveQueue(this);
  Object::Dispose();
}

namespace {

// The framework's cancel routines release the cancel spin lock first, as
// FxIrpQueue and FxRequest do, then work under the queue's own lock.
void ReleaseCancelLock(World& w, PIRP irp) {
  w.set_cancel_lock_held(false);
  w.SetIrql(irp->CancelIrql);
}

}  // namespace

VOID QueueIrpCancel(PDEVICE_OBJECT device, PIRP irp) {
  (void)device;
  World& w = World::Current();
  ReleaseCancelLock(w, irp);
  Request* request = RequestOfIrp(irp);
  if (request == nullptr || request->queue() == nullptr || !request->queue()->Holds(request)) return;
  request->queue()->CancelQueued(*request, Ddi::kQueueCancel);
}

VOID RequestIrpCancel(PDEVICE_OBJECT device, PIRP irp) {
  (void)device;
  World& w = World::Current();
  ReleaseCancelLock(w, irp);
  Request* request = RequestOfIrp(irp);
  if (request == nullptr || !request->cancelable()) return;
  PFN_WDF_REQUEST_CANCEL routine = request->cancel_routine();
  request->set_cancel_routine_started();
  w.Log(EventKind::kQueueCallback, Ddi::kRequestCancel, request->queue() ? request->queue()->serial() : 0,
        static_cast<int64_t>(QueueCallback::kRequestCancel), request->serial());
  if (routine != nullptr) routine(HandleOf(*request));
}

}  // namespace wdfsim::core
