#include "io_target.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "irp.h"
#include "memory.h"
#include "request.h"
#include "world.h"

namespace wdfsim::core {
namespace {

// FxRequestBase target flags.
constexpr uint32_t kCompleted = 0x1;
constexpr uint32_t kTimerSet = 0x2;
constexpr uint32_t kCancelledFromTimer = 0x4;
constexpr uint32_t kIgnoreState = 0x8;

// FxIoTarget::_RequestCompletionRoutine: always STATUS_MORE_PROCESSING_REQUIRED,
// so the IRP comes back to the framework.
NTSTATUS FrameworkCompletionRoutine(PDEVICE_OBJECT, PIRP irp, PVOID context) {
  auto* request = static_cast<Request*>(context);
  // An async send propagates pending into the location above it, unless the
  // framework created the IRP (then there is no such location).
  if (irp->PendingReturned && irp->CurrentLocation <= irp->StackCount) IoMarkIrpPending(irp);
  request->target()->OnIrpCompleted(*request, irp);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

// The CSQ cancel routine of a request pended in a stopped target.
VOID PendedCancelRoutine(PDEVICE_OBJECT, PIRP irp) {
  IoReleaseCancelSpinLock(irp->CancelIrql);
  World& world = World::Current();
  for (const auto& [serial, object] : world.live_objects()) {
    if (object->type() != ObjectType::kRequest) continue;
    auto* request = static_cast<Request*>(object);
    if (request->irp() == irp && request->target() != nullptr) {
      request->target()->OnPendedCancelled(*request, irp);
      return;
    }
  }
}

PMDL NewMdl(void* buffer, size_t length) {
  auto* mdl = static_cast<PMDL>(std::calloc(1, sizeof(MDL)));
  mdl->Size = sizeof(MDL);
  mdl->MdlFlags = MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA;
  mdl->StartVa = mdl->MappedSystemVa = buffer;
  mdl->ByteCount = static_cast<ULONG>(length);
  return mdl;
}

void* DoubleBuffer(const FormatBuffer& input, size_t length) {
  void* copy = std::calloc(1, std::max<size_t>(length, 1));
  if (input.buffer != nullptr && input.length > 0) memcpy(copy, input.buffer, std::min(input.length, length));
  return copy;
}

}  // namespace

IoTarget::IoTarget(World& world, PDEVICE_OBJECT device)
    : Object(world, ObjectType::kIoTarget), device_(device), stack_size_(device->StackSize) {}

NTSTATUS IoTarget::ValidateTarget(Request& request) {
  request.ReleaseAndRestore();
  if (stack_size_ == 0) return STATUS_INVALID_DEVICE_STATE;
  IRP* irp = request.irp_;
  if (irp != nullptr && irp->CurrentLocation - 1 >= stack_size_) return STATUS_SUCCESS;
  if (irp == nullptr || request.allocation_ == Request::Allocation::kInternal) {
    if (irp != nullptr && request.completion_refs_ != 0) {
      // The framework has no check here: it would free an IRP a lower
      // driver still owns.
      world().Report(RuleId::kFormatWhileSent, Ddi::kNone,
                     "the request was formatted for another target while still pending on one: its IRP would be freed",
                     {&request, this});
    }
    IRP* fresh = AllocateIrp(world(), stack_size_, IrpOrigin::kFramework);
    if (fresh == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
    if (irp != nullptr) FreeIrp(world(), irp);
    request.irp_ = fresh;
    request.completed_ = false;  // SetSubmitIrp
    return STATUS_SUCCESS;
  }
  return STATUS_REQUEST_NOT_ACCEPTED;
}

NTSTATUS IoTarget::Format(Request& request, UCHAR major, ULONG ioctl, const FormatBuffer& input,
                          const FormatBuffer& output, LONGLONG device_offset) {
  const bool ioctl_request = major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  // StoreAndReferenceMemory. The references are taken before ValidateTarget
  // releases the previous format's, so memory both formats name survives
  // (the framework's order would free it under the new format).
  MemoryBase* memory = major == IRP_MJ_READ ? output.memory : input.memory;
  MemoryBase* other_memory = ioctl_request ? output.memory : nullptr;
  if (memory != nullptr) memory->AddFormatReference();
  if (other_memory != nullptr) other_memory->AddFormatReference();
  const NTSTATUS status = ValidateTarget(request);
  if (!NT_SUCCESS(status)) {
    if (memory != nullptr) memory->ReleaseFormatReference(Ddi::kNone);
    if (other_memory != nullptr) other_memory->ReleaseFormatReference(Ddi::kNone);
    return status;
  }
  Request::FormatContext& c = request.context_;
  c.memory = memory;
  c.other_memory = other_memory;

  IRP* irp = request.irp_;
  c.saved = true;
  c.saved_system_buffer = irp->AssociatedIrp.SystemBuffer;
  c.saved_user_buffer = irp->UserBuffer;
  c.saved_mdl = irp->MdlAddress;
  c.saved_flags = irp->Flags;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  memset(next, 0, sizeof(*next));
  next->MajorFunction = major;
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&c.params);
  const WDFMEMORY input_handle = input.memory ? static_cast<WDFMEMORY>(input.memory->handle()) : nullptr;
  const WDFMEMORY output_handle = output.memory ? static_cast<WDFMEMORY>(output.memory->handle()) : nullptr;
  if (!ioctl_request) {
    const FormatBuffer& data = major == IRP_MJ_READ ? output : input;
    next->Parameters.Read.Length = static_cast<ULONG>(data.length);
    next->Parameters.Read.ByteOffset.QuadPart = device_offset;
    if (device_->Flags & DO_BUFFERED_IO) {
      c.double_buffer = DoubleBuffer(major == IRP_MJ_WRITE ? data : FormatBuffer{}, data.length);
      irp->AssociatedIrp.SystemBuffer = c.double_buffer;
      irp->Flags &= ~ULONG{IRP_DEALLOCATE_BUFFER};  // the framework frees its double buffer
      if (major == IRP_MJ_READ) {
        c.copy_back_to = data.buffer;
        c.copy_back_length = data.length;
      }
    } else if (device_->Flags & DO_DIRECT_IO) {
      c.mdl = data.length > 0 ? NewMdl(data.buffer, data.length) : nullptr;
      irp->MdlAddress = c.mdl;
    } else {
      irp->UserBuffer = data.buffer;
    }
    c.params.Type = major == IRP_MJ_READ ? WdfRequestTypeRead : WdfRequestTypeWrite;
    c.params.Parameters.Read.Buffer = major == IRP_MJ_READ ? output_handle : input_handle;
    c.params.Parameters.Read.Offset = data.offset;
  } else {
    next->Parameters.DeviceIoControl.IoControlCode = ioctl;
    next->Parameters.DeviceIoControl.InputBufferLength = static_cast<ULONG>(input.length);
    next->Parameters.DeviceIoControl.OutputBufferLength = static_cast<ULONG>(output.length);
    switch (METHOD_FROM_CTL_CODE(ioctl)) {
      case METHOD_BUFFERED:
        c.double_buffer = DoubleBuffer(input, std::max(input.length, output.length));
        irp->AssociatedIrp.SystemBuffer = c.double_buffer;
        irp->Flags &= ~ULONG{IRP_DEALLOCATE_BUFFER};
        c.copy_back_to = output.buffer;
        c.copy_back_length = output.length;
        break;
      case METHOD_IN_DIRECT:
      case METHOD_OUT_DIRECT:
        if (input.length > 0) {
          c.double_buffer = DoubleBuffer(input, input.length);
          irp->AssociatedIrp.SystemBuffer = c.double_buffer;
          irp->Flags &= ~ULONG{IRP_DEALLOCATE_BUFFER};
        }
        c.mdl = output.length > 0 ? NewMdl(output.buffer, output.length) : nullptr;
        irp->MdlAddress = c.mdl;
        break;
      default:
        next->Parameters.DeviceIoControl.Type3InputBuffer = input.buffer;
        irp->UserBuffer = output.buffer;
        break;
    }
    c.params.Type = major == IRP_MJ_DEVICE_CONTROL ? WdfRequestTypeDeviceControl : WdfRequestTypeDeviceControlInternal;
    c.params.Parameters.Ioctl.IoControlCode = ioctl;
    c.params.Parameters.Ioctl.Input.Buffer = input_handle;
    c.params.Parameters.Ioctl.Input.Offset = input.offset;
    c.params.Parameters.Ioctl.Output.Buffer = output_handle;
    c.params.Parameters.Ioctl.Output.Offset = output.offset;
  }
  c.present = true;
  request.formatted_ = true;
  request.next_stack_formatted_ = false;
  return STATUS_SUCCESS;
}

IoTarget::Submit IoTarget::SubmitLocked(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, ULONG flags,
                                        Ddi ddi) {
  World& w = world();
  if (request.completion_refs_ != 0) {
    w.Report(RuleId::kRequestAlreadySent, ddi, "the request is still pending on an I/O target", {&request, this}, 0x3,
             reinterpret_cast<uint64_t>(request.handle()));
  }
  IRP* irp = request.irp_;
  auto fail = [&](NTSTATUS status) {
    if (irp != nullptr) irp->IoStatus.Status = status;
    return Submit::kFailed;
  };
  if (w.verifier_on()) {
    if (!request.formatted_) {
      w.Report(RuleId::kRequestFormattedValid, ddi, "the request was not formatted since it last completed",
               {&request});
      return fail(STATUS_REQUEST_NOT_ACCEPTED);
    }
    if (request.sent_to_target_) {
      w.Report(RuleId::kRequestAlreadySent, ddi, "the request is marked as sent to a target", {&request}, 0x3,
               reinterpret_cast<uint64_t>(request.handle()));
    }
    if (irp == nullptr || irp->CurrentLocation - 1 < stack_size_) return fail(STATUS_REQUEST_NOT_ACCEPTED);
  }
  Submit result;
  if (flags & WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE) {
    if ((state_ == WdfIoTargetDeleted || state_ == WdfIoTargetClosed || state_ == WdfIoTargetClosedForQueryRemove) &&
        !removing_) {
      return fail(STATUS_INVALID_DEVICE_STATE);
    }
    result = Submit::kSend;
  } else if (state_ == WdfIoTargetStarted) {
    result = Submit::kSend;
  } else if (state_ == WdfIoTargetStopped) {
    result = Submit::kQueued;
  } else {
    return fail(STATUS_INVALID_DEVICE_STATE);
  }
  request.target_ = this;
  request.Hold();  // the target's reference, given back at the end of CompleteRequest
  request.completion_refs_ = 1;
  // Cancelled before it was sent (SEMANTICS-WDF 1.4 step 7), or, for a
  // stopped target, an IRP already cancelled (a thread exit): the pended
  // queue's insert refuses it and the submit fails.
  if (request.canceled_ || (result == Submit::kQueued && irp->Cancel)) {
    CanComplete(request);
    request.Unhold(ddi);
    return fail(STATUS_CANCELLED);
  }
  if (flags & WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE) request.target_flags_ |= kIgnoreState;
  if (result == Submit::kSend) {
    sent_.push_back(&request);
    IoSetCompletionRoutine(irp, FrameworkCompletionRoutine, &request, TRUE, TRUE, TRUE);
  } else {
    Pend(request);
  }
  if ((flags & WDF_REQUEST_SEND_OPTION_TIMEOUT) && options != nullptr && options->Timeout != 0) {
    StartTimer(request, options->Timeout);
  }
  request.sent_to_target_ = true;
  return result;
}

void IoTarget::SendIrp(Request& request) {
  world().Log(EventKind::kTargetSend, Ddi::kIoCallDriver, request.serial());
  CallDriver(world(), device_, request.irp_, Ddi::kIoCallDriver);  // its return value is ignored
}

void IoTarget::Pend(Request& request) {
  pended_.push_back(&request);
  ExchangeCancelRoutine(request.irp_, PendedCancelRoutine);
}

void IoTarget::FailPended(Request& request, NTSTATUS status) {
  pended_.erase(std::remove(pended_.begin(), pended_.end(), &request), pended_.end());
  request.irp_->IoStatus.Status = status;
  request.irp_->IoStatus.Information = 0;
  OnIrpCompleted(request, request.irp_);
}

void IoTarget::OnPendedCancelled(Request& request, IRP*) {
  if (std::find(pended_.begin(), pended_.end(), &request) == pended_.end()) return;
  FailPended(request, STATUS_CANCELLED);
}

void IoTarget::ResendPended() {
  const std::vector<Request*> pended = pended_;
  for (Request* request : pended) {
    // The dequeue side of the CSQ: a cancel in progress owns the request.
    if (ExchangeCancelRoutine(request->irp_, nullptr) == nullptr) continue;
    pended_.erase(std::remove(pended_.begin(), pended_.end(), request), pended_.end());
    // DrainPendedRequestsLocked(resend): the timer is dropped, none is restarted.
    CancelTimer(*request);
    sent_.push_back(request);
    IoSetCompletionRoutine(request->irp_, FrameworkCompletionRoutine, request, TRUE, TRUE, TRUE);
    SendIrp(*request);
  }
}

void IoTarget::StartTimer(Request& request, LONGLONG timeout) {
  World& w = world();
  const int64_t due = timeout < 0 ? w.now() - timeout : std::max<int64_t>(timeout - World::kSystemTimeEpoch, w.now());
  request.target_flags_ |= kTimerSet;
  request.timer_dpc_queued_ = false;
  request.timer_work_ = w.Schedule(due, DISPATCH_LEVEL, "send timer", [this, &request] { OnTimerExpired(request); });
}

bool IoTarget::CancelTimer(Request& request) {
  if (!(request.target_flags_ & kTimerSet)) return true;
  if (request.timer_dpc_queued_) return false;  // KeCancelTimer fails: the DPC is on its way
  world().Cancel(request.timer_work_);
  request.timer_work_ = 0;
  request.target_flags_ &= ~kTimerSet;
  return true;
}

void IoTarget::OnTimerExpired(Request& request) {
  request.timer_dpc_queued_ = true;
  request.timer_work_ =
      world().Schedule(world().now(), DISPATCH_LEVEL, "send timer DPC", [this, &request] { OnTimerDpc(request); });
}

void IoTarget::OnTimerDpc(Request& request) {
  World& w = world();
  w.Log(EventKind::kTimerFired, Ddi::kTargetTimer, request.serial());
  request.timer_dpc_queued_ = false;
  request.timer_work_ = 0;
  request.target_flags_ &= ~kTimerSet;
  // The driver completed the request while it was sent (CompleteWhileSent):
  // there is no IRP of the request's left to cancel or complete. If the
  // lower driver's completion already came, this DPC was to finish: the
  // target lets the request go; else OnIrpCompleted will.
  if (request.irp_ == nullptr) {
    if (request.target_flags_ & kCompleted) Disown(request);
    return;
  }
  bool complete;
  if (request.target_flags_ & kCompleted) {
    complete = CanComplete(request);
  } else {
    request.target_flags_ |= kCancelledFromTimer;
#ifdef WDFSIM_PLANTED_TIMER_BUG
    // Planted bug (tests only): the timer cancels and completes without
    // taking a completion reference, racing the lower driver's completion.
    Cancel(request, Ddi::kTargetTimer);
    complete = true;
#else
    IncrementGreaterThanZero(request);
    Cancel(request, Ddi::kTargetTimer);
    complete = CanComplete(request);
#endif
  }
  if (complete) {
    MorphTimeout(request);
    CompleteRequest(request);
  }
}

bool IoTarget::IncrementGreaterThanZero(Request& request) {
  if (request.completion_refs_ <= 0) return false;
  ++request.completion_refs_;
  return true;
}

bool IoTarget::CanComplete(Request& request) { return --request.completion_refs_ == 0; }

void IoTarget::MorphTimeout(Request& request) {
  if ((request.target_flags_ & kCancelledFromTimer) && request.irp_->IoStatus.Status == STATUS_CANCELLED) {
    request.irp_->IoStatus.Status = STATUS_IO_TIMEOUT;
  }
}

BOOLEAN IoTarget::Cancel(Request& request, Ddi ddi) {
  request.canceled_ = true;
  if (request.irp_ == nullptr) return FALSE;  // completed by the driver while sent: nothing to cancel
  if (!IncrementGreaterThanZero(request)) return FALSE;
  const BOOLEAN result = CancelIrp(world(), request.irp_, ddi);
  if (CanComplete(request)) {
    MorphTimeout(request);  // CompleteCanceledRequest
    CompleteRequest(request);
  }
  return result;
}

void IoTarget::OnIrpCompleted(Request& request, IRP* irp) {
  World& w = world();
  w.Log(EventKind::kTargetCompleted, Ddi::kTargetCompletion, request.serial(), irp->IoStatus.Status);
  if (request.irp_ == nullptr) {
    // The driver completed the request while it was sent (CompleteWhileSent,
    // reported then): the IRP is no longer the request's.
    Disown(request);
    return;
  }
  request.target_flags_ |= kCompleted;
  // Without the timer stopped, its DPC owns the decrement.
  if (CancelTimer(request) && CanComplete(request)) {
    MorphTimeout(request);
    CompleteRequest(request);
  }
}

void IoTarget::Disown(Request& request) {
  Unlink(request);
  if (request.timer_work_ != 0) world().Cancel(request.timer_work_);
  request.timer_work_ = 0;
  request.timer_dpc_queued_ = false;
  request.target_flags_ = 0;
  request.sent_to_target_ = false;
  request.completion_refs_ = 0;
  request.Unhold(Ddi::kTargetCompletion);
}

void IoTarget::Unlink(Request& request) {
  sent_.erase(std::remove(sent_.begin(), sent_.end(), &request), sent_.end());
  pended_.erase(std::remove(pended_.begin(), pended_.end(), &request), pended_.end());
}

void IoTarget::CompleteRequest(Request& request) {
  World& w = world();
  // RemoveCompletedRequestLocked.
  Unlink(request);
  if (request.timer_work_ != 0) {
    w.Cancel(request.timer_work_);
    request.timer_work_ = 0;
    request.timer_dpc_queued_ = false;
  }
  request.target_flags_ &= ~(kCompleted | kTimerSet | kCancelledFromTimer | kIgnoreState);
  request.sent_to_target_ = false;
  // CompleteSubmitted.
  if (w.verifier_on()) request.formatted_ = false;
  IRP* irp = request.irp_;
  Request::FormatContext& c = request.context_;
  WDF_REQUEST_COMPLETION_PARAMS stack_params;
  PWDF_REQUEST_COMPLETION_PARAMS params = &c.params;
  if (c.present) {
    c.params.IoStatus = irp->IoStatus;
    const ULONG_PTR information = irp->IoStatus.Information;
    switch (c.params.Type) {
      case WdfRequestTypeRead: c.params.Parameters.Read.Length = information; break;
      case WdfRequestTypeWrite: c.params.Parameters.Write.Length = information; break;
      case WdfRequestTypeDeviceControl:
      case WdfRequestTypeDeviceControlInternal: c.params.Parameters.Ioctl.Output.Length = information; break;
      default: break;
    }
    if (c.copy_back_to != nullptr && c.double_buffer != nullptr && !NT_ERROR(irp->IoStatus.Status)) {
      memcpy(c.copy_back_to, c.double_buffer, std::min<size_t>(information, c.copy_back_length));
    }
  } else {
    WDF_REQUEST_COMPLETION_PARAMS_INIT(&stack_params);
    stack_params.IoStatus = irp->IoStatus;
    params = &stack_params;
  }
  const PFN_WDF_REQUEST_COMPLETION_ROUTINE routine = request.completion_routine_;
  const WDFCONTEXT context = request.completion_context_;
  request.completion_routine_ = nullptr;  // cleared before the call: once per send
  request.completion_context_ = nullptr;
  const auto request_handle = static_cast<WDFREQUEST>(request.handle());
  const auto target_handle = static_cast<WDFIOTARGET>(handle());
  if (SyncWait* sync = request.sync_) {
    // _SyncCompletionRoutine: the driver's routine (WdfRequestSend SYNCHRONOUS)
    // runs in the completing thread before the waiter is released.
    sync->status = irp->IoStatus.Status;
    if (sync->call_driver_routine && sync->routine != nullptr) {
      w.Log(EventKind::kCompletionRoutine, Ddi::kTargetCompletion, request.serial(), irp->IoStatus.Status);
      sync->routine(request_handle, target_handle, params, sync->context);
    }
    sync->done = true;
  } else if (routine != nullptr) {
    w.Log(EventKind::kCompletionRoutine, Ddi::kTargetCompletion, request.serial(), irp->IoStatus.Status);
    routine(request_handle, target_handle, params, context);
  }
  request.Unhold(Ddi::kTargetCompletion);  // the target's reference: may free the request
}

bool IoTarget::SendAsync(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, Ddi ddi) {
  const Submit result = SubmitLocked(request, options, options ? options->Flags : 0, ddi);
  if (result == Submit::kSend) SendIrp(request);
  return result != Submit::kFailed;
}

NTSTATUS IoTarget::SendSync(Request& request, const WDF_REQUEST_SEND_OPTIONS* options, SyncWait& sync, bool* sent,
                            Ddi ddi) {
  World& w = world();
  *sent = false;
  LONGLONG timeout = 0;
  if (options != nullptr && (options->Flags & WDF_REQUEST_SEND_OPTION_TIMEOUT) && options->Timeout != 0) {
    timeout = options->Timeout;
  }
  if (timeout == 0) {
    w.Report(RuleId::kSyncReqSend, ddi, "a synchronous send with no timeout: it waits as long as the target takes",
             {&request, this});
  }
  if (sync.call_driver_routine) {
    sync.routine = request.completion_routine_;
    sync.context = request.completion_context_;
  }
  request.completion_routine_ = nullptr;
  request.sync_ = &sync;
  const ULONG flags = options != nullptr ? options->Flags & ~WDF_REQUEST_SEND_OPTION_TIMEOUT : 0;
  const Submit result = SubmitLocked(request, options, flags, ddi);
  request.Hold();  // alive across a Cancel
  if (result == Submit::kFailed) {
    if (sync.call_driver_routine) request.SetCompletionRoutine(sync.routine, sync.context);
    request.sync_ = nullptr;
    const NTSTATUS status = request.irp_ != nullptr ? request.irp_->IoStatus.Status : STATUS_INVALID_DEVICE_STATE;
    request.Unhold(ddi);
    return status;
  }
  *sent = true;
  if (result == Submit::kSend) SendIrp(request);
  if (w.irql() > APC_LEVEL) {
    w.Report(RuleId::kKeWaitIrql, ddi, absl::StrFormat("the synchronous send waits at IRQL %d", w.irql()));
  }
  const int64_t deadline = timeout == 0  ? INT64_MAX
                           : timeout < 0 ? w.now() - timeout
                                         : timeout - World::kSystemTimeEpoch;
  if (!w.WaitUntil([&sync] { return sync.done; }, deadline, ddi, "the synchronous send")) {
    // The wait timed out: cancel, then wait for the real completion.
    request.target_flags_ |= kCancelledFromTimer;
    Cancel(request, ddi);
    w.WaitUntil([&sync] { return sync.done; }, INT64_MAX, ddi, "the cancelled synchronous send");
  }
  request.sync_ = nullptr;
  const NTSTATUS status = sync.status;
  request.Unhold(ddi);
  return status;
}

void IoTarget::SendAndForget(Request& request, Ddi ddi) {
  IRP* irp = request.irp_;
  if (!request.next_stack_formatted_) IoSkipCurrentIrpStackLocation(irp);
  request.DisposeTree();  // EarlyDispose: the driver's cleanup runs before the send
  request.DestroyChildren(ddi);
  request.irp_ = nullptr;
  request.completed_ = true;
  CallDriver(world(), device_, irp, ddi);
  request.driver_owned_ = false;  // PostProcessCompletion
  request.ReleaseCreationReference(ddi);
}

void IoTarget::CancelSent(Ddi ddi) {
  const std::vector<Request*> sent = sent_;
  for (Request* request : sent) {
    if (std::find(sent_.begin(), sent_.end(), request) == sent_.end()) continue;
    if ((request->target_flags_ & kIgnoreState) && state_ != WdfIoTargetClosed && state_ != WdfIoTargetDeleted) {
      continue;
    }
    request->Hold();
    Cancel(*request, ddi);
    request->Unhold(ddi);
  }
}

void IoTarget::WaitForSentIo(Ddi ddi) {
  world().WaitUntil([this] { return sent_.empty(); }, INT64_MAX, ddi, "the target's sent I/O");
}

NTSTATUS IoTarget::Start(Ddi) {
  if (state_ == WdfIoTargetClosed || state_ == WdfIoTargetDeleted || state_ == WdfIoTargetClosedForQueryRemove) {
    return STATUS_INVALID_DEVICE_STATE;
  }
  state_ = WdfIoTargetStarted;
  ResendPended();
  return STATUS_SUCCESS;
}

void IoTarget::Stop(WDF_IO_TARGET_SENT_IO_ACTION action, Ddi ddi) {
  if (state_ == WdfIoTargetClosed || state_ == WdfIoTargetDeleted) return;
  state_ = WdfIoTargetStopped;
  if (action == WdfIoTargetCancelSentIo) CancelSent(ddi);
  if (action == WdfIoTargetCancelSentIo || action == WdfIoTargetWaitForSentIoToComplete) WaitForSentIo(ddi);
}

void IoTarget::Purge(WDF_IO_TARGET_PURGE_IO_ACTION action, Ddi ddi) {
  if (state_ == WdfIoTargetClosed || state_ == WdfIoTargetDeleted) return;
  state_ = WdfIoTargetPurged;
  for (Request* request : std::vector<Request*>(pended_)) {
    if (ExchangeCancelRoutine(request->irp_, nullptr) != nullptr)
      FailPended(*request, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
  }
  CancelSent(ddi);
  if (action == WdfIoTargetPurgeIoAndWait) WaitForSentIo(ddi);
}

void IoTarget::Close(Ddi ddi) {
  if (state_ == WdfIoTargetDeleted) return;
  state_ = WdfIoTargetClosed;
  for (Request* request : std::vector<Request*>(pended_)) {
    if (ExchangeCancelRoutine(request->irp_, nullptr) != nullptr)
      FailPended(*request, STATUS_WDF_DEVICE_REMOVED_NOT_SENT);
  }
  CancelSent(ddi);
  WaitForSentIo(ddi);
  stack_size_ = 0;  // ClearTargetPointers
}

void IoTarget::Dispose() {
  Close(Ddi::kWdfObjectDelete);
  state_ = WdfIoTargetDeleted;
  RunCleanupCallbacks();
}

}  // namespace wdfsim::core
