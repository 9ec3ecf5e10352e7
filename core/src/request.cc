#include "request.h"

#include <cstdlib>

#include "absl/strings/str_format.h"
#include "irp.h"
#include "queue.h"
#include "world.h"

namespace wdfsim::core {
namespace {

constexpr uint32_t kReuseMustComplete = 0x2;  // WDF_REQUEST_REUSE_MUST_COMPLETE (private, >= 1.11)

bool IsIoctl(UCHAR major) { return major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL; }

// The WDF-facility statuses CompleteInternal remaps (SEMANTICS-WDF 4.7).
NTSTATUS RemapWdfStatus(NTSTATUS status) {
  if ((static_cast<uint32_t>(status) & 0x0FFF0000u) != 0x00200000u) return status;
  if (status == STATUS_WDF_PAUSED || status == STATUS_WDF_BUSY) return STATUS_DEVICE_BUSY;
  if (status == STATUS_WDF_INTERNAL_ERROR) return STATUS_INTERNAL_ERROR;
  if (status == STATUS_WDF_NOT_ENOUGH_MAP_REGISTERS) return STATUS_INSUFFICIENT_RESOURCES;
  return STATUS_INVALID_DEVICE_REQUEST;
}

}  // namespace

// ---- RequestMemory ----

RequestMemory::RequestMemory(World& world, Request& request, Which which)
    : MemoryBase(world, ObjectType::kRequestMemory), request_(request), which_(which) {}

void* RequestMemory::buffer() const {
  if (which_ == Which::kOutputBuffer) return request_.captured_output_buffer();
  const UCHAR major = request_.major_function();
  if (major == IRP_MJ_READ || major == IRP_MJ_WRITE || IsIoctl(major)) return request_.captured_system_buffer();
  return nullptr;
}

size_t RequestMemory::size() const {
  const IO_STACK_LOCATION& p = request_.parameters();
  if (which_ == Which::kOutputBuffer) return p.Parameters.DeviceIoControl.OutputBufferLength;
  switch (request_.major_function()) {
    case IRP_MJ_READ: return p.Parameters.Read.Length;
    case IRP_MJ_WRITE: return p.Parameters.Write.Length;
    case IRP_MJ_DEVICE_CONTROL:
    case IRP_MJ_INTERNAL_DEVICE_CONTROL: return p.Parameters.DeviceIoControl.InputBufferLength;
    default: return 0;
  }
}

bool RequestMemory::read_only() const {
  const UCHAR major = request_.major_function();
  const ULONG method = METHOD_FROM_CTL_CODE(request_.parameters().Parameters.DeviceIoControl.IoControlCode);
  if (which_ == Which::kOutputBuffer) return IsIoctl(major) && method == METHOD_IN_DIRECT;
  if (major == IRP_MJ_WRITE) return true;
  return IsIoctl(major) && (method == METHOD_IN_DIRECT || method == METHOD_OUT_DIRECT);
}

bool RequestMemory::available() const { return request_.irp() != nullptr; }

void RequestMemory::AddRef() { request_.AddIrpReference(Ddi::kWdfObjectReference); }

void RequestMemory::Release(Ddi ddi) { request_.ReleaseIrpReference(ddi); }

void RequestMemory::Delete(Ddi ddi) { request_.Delete(ddi); }

// ---- Request ----

Request::Request(World& world, Allocation allocation) : Object(world, ObjectType::kRequest), allocation_(allocation) {
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&context_.params);
}

Request::~Request() {
  if (world().switching_off()) {
    // The world frees the IRPs after the objects: give the IRP back its own
    // buffer fields, so each buffer is freed once.
    FormatContext& c = context_;
    if (c.saved && irp_ != nullptr) {
      irp_->AssociatedIrp.SystemBuffer = c.saved_system_buffer;
      irp_->UserBuffer = c.saved_user_buffer;
      irp_->MdlAddress = c.saved_mdl;
      irp_->Flags = c.saved_flags;
    }
    std::free(c.double_buffer);
    std::free(c.mdl);
  } else {
    ReleaseAndRestore();
  }
  for (RequestMemory* memory : {system_buffer_, output_buffer_}) {
    if (memory == nullptr || world().switching_off()) continue;
    world().handles().Remove(memory->handle());
    delete memory;
  }
  if (irp_ != nullptr && allocation_ == Allocation::kInternal && !world().switching_off()) FreeIrp(world(), irp_);
}

void Request::AttachPresentedIrp(IRP* irp, int outcome, IoType io_type, bool kernel_mode_requestor) {
  irp_ = irp;
  outcome_ = outcome;
  io_type_ = io_type;
  kernel_mode_requestor_ = kernel_mode_requestor;
  completed_ = false;
  can_complete_ = true;
  driver_owned_ = true;
  const IO_STACK_LOCATION* location = IoGetCurrentIrpStackLocation(irp);
  parameters_ = *location;
  major_ = location->MajorFunction;
  // FxRequest::AssignMemoryBuffers.
  void* mdl_va = irp->MdlAddress != nullptr ? MmGetMdlVirtualAddress(irp->MdlAddress) : nullptr;
  if (IsIoctl(major_)) {
    switch (METHOD_FROM_CTL_CODE(location->Parameters.DeviceIoControl.IoControlCode)) {
      case METHOD_BUFFERED: system_buffer_pointer_ = output_buffer_pointer_ = irp->AssociatedIrp.SystemBuffer; break;
      case METHOD_IN_DIRECT:
      case METHOD_OUT_DIRECT:
        system_buffer_pointer_ = irp->AssociatedIrp.SystemBuffer;
        output_buffer_pointer_ = mdl_va;
        break;
      default:
        system_buffer_pointer_ = location->Parameters.DeviceIoControl.Type3InputBuffer;
        output_buffer_pointer_ = irp->UserBuffer;
        break;
    }
  } else if (major_ == IRP_MJ_READ || major_ == IRP_MJ_WRITE) {
    switch (io_type) {
      case IoType::kBuffered: system_buffer_pointer_ = irp->AssociatedIrp.SystemBuffer; break;
      case IoType::kDirect: system_buffer_pointer_ = mdl_va; break;
      case IoType::kNeither: system_buffer_pointer_ = kernel_mode_requestor ? irp->UserBuffer : nullptr; break;
    }
    output_buffer_pointer_ = system_buffer_pointer_;
  }
}

RequestMemory& Request::SystemBufferMemory() {
  if (system_buffer_ == nullptr) {
    system_buffer_ = new RequestMemory(world(), *this, RequestMemory::Which::kSystemBuffer);
    system_buffer_->Commit(nullptr);
  }
  return *system_buffer_;
}

RequestMemory& Request::OutputBufferMemory() {
  if (output_buffer_ == nullptr) {
    output_buffer_ = new RequestMemory(world(), *this, RequestMemory::Which::kOutputBuffer);
    output_buffer_->Commit(nullptr);
  }
  return *output_buffer_;
}

void Request::AddIrpReference(Ddi ddi) {
  if (world().verifier_on() && completed_) {
    world().Report(RuleId::kRequestAlreadyCompleted, ddi, "IRP reference taken on a request already completed", {this});
  }
  ++irp_references_;
  world().Log(EventKind::kReference, ddi, serial(), irp_references_, 1);
}

void Request::ReleaseIrpReference(Ddi ddi) {
  --irp_references_;
  world().Log(EventKind::kDereference, ddi, serial(), irp_references_, 1);
  if (irp_references_ < 0) {
    world().Report(RuleId::kRequestMemoryOverRelease, ddi,
                   "released a reference on the request's WDFMEMORY without adding one first", {this});
  }
}

void Request::Dispose() {
  if (!from_io()) {
    // FxRequestBase::Dispose (driver version >= 1.11): VerifyDispose, cleanup, context.
    if (world().verifier_on() && sent_to_target_) {
      world().Report(RuleId::kDeleteWhileSent, Ddi::kWdfObjectDelete,
                     "WDFREQUEST deleted while it is still active on a WDFIOTARGET", {this});
    }
    RunCleanupCallbacks();
    ReleaseAndRestore();
    return;
  }
  RunCleanupCallbacks();
}

void Request::FinalRelease(Ddi ddi) {
  if (framework_holds_ > 0) {
    // The framework would go on with a freed request.
    world().Report(RuleId::kObjectOverDereference, ddi,
                   completion_refs_ > 0 ? "the last reference went while the request is still pending on an I/O "
                                          "target (the driver released the target's reference)"
                                        : "the last reference went while the framework still held one of its own "
                                          "(the driver released a reference it never took)",
                   {this}, reinterpret_cast<uint64_t>(handle()), serial());
  }
  if (irp_references_ > 0) {
    world().Report(
        RuleId::kRequestFreedWithMemoryReferenced, ddi,
        absl::StrFormat("the request is freed while %d reference%s on its WDFMEMORY %s outstanding", irp_references_,
                        irp_references_ == 1 ? "" : "s", irp_references_ == 1 ? "is" : "are"),
        {this});
  }
  Object::FinalRelease(ddi);
}

void Request::ReleaseAndRestore() {
  FormatContext& c = context_;
  if (!c.present && !c.saved && c.memory == nullptr) return;
  if (c.saved && irp_ != nullptr) {
    irp_->AssociatedIrp.SystemBuffer = c.saved_system_buffer;
    irp_->UserBuffer = c.saved_user_buffer;
    irp_->MdlAddress = c.saved_mdl;
    irp_->Flags = c.saved_flags;
  }
  std::free(c.double_buffer);
  if (c.mdl != nullptr && (irp_ == nullptr || irp_->MdlAddress != c.mdl)) std::free(c.mdl);
  MemoryBase* memory = c.memory;
  MemoryBase* other = c.other_memory;
  // The context itself stays (SEMANTICS-WDF 4.8): only its references, the
  // IRP's fields and the params go back.
  const bool present = c.present;
  c = FormatContext{};
  c.present = present;
  WDF_REQUEST_COMPLETION_PARAMS_INIT(&c.params);
  if (memory != nullptr) memory->ReleaseFormatReference(Ddi::kNone);
  if (other != nullptr) other->ReleaseFormatReference(Ddi::kNone);
}

void Request::Delete(Ddi ddi) {
  if (from_io() && !deleting()) {
    // ReqDelete: the framework has no runtime guard; the IRP is never completed.
    world().Report(RuleId::kReqDelete, ddi,
                   "WdfObjectDelete on a request the framework presented; it must be completed instead", {this});
  }
  Object::Delete(ddi);
}

void Request::CompleteByFramework(NTSTATUS status, Ddi ddi) {
  queue_ = nullptr;
  driver_owned_ = true;
  irp_->IoStatus.Information = 0;
  CompleteInternal(status, IO_NO_INCREMENT, ddi);
}

void Request::set_presented() {
  presented_ = true;
  if (outcome_ >= 0) world().io_outcomes()[outcome_].presented = true;
}

void Request::ReleaseWithoutCompletion(Ddi ddi) {
  irp_ = nullptr;
  completed_ = true;
  driver_owned_ = false;
  DisposeTree();
  DestroyChildren(ddi);
  ReleaseCreationReference(ddi);
}

void Request::MarkCancelable(PFN_WDF_REQUEST_CANCEL routine) {
  cancelable_ = true;
  cancel_routine_ = routine;
  deferred_ = true;
  if (irp_ != nullptr) {
    irp_->Tail.Overlay.DriverContext[3] = this;
    irp_->CancelRoutine = &RequestIrpCancel;
  }
}

void Request::CompleteInternal(NTSTATUS status, CCHAR boost, Ddi ddi) {
  World& w = world();
  if (w.verifier_on()) {
    if (completed_) {
      w.Report(RuleId::kRequestAlreadyCompleted, ddi, "the request is already completed", {this});
    }
    if (cancelable_ && !cancel_started_) {
      w.Report(RuleId::kCompleteCancelable, ddi,
               "completing a request still marked cancelable; call WdfRequestUnmarkCancelable first", {this});
    }
    if (NT_SUCCESS(status) && irp_ != nullptr) {
      ULONG length = 0;
      bool checked = true;
      if (major_ == IRP_MJ_READ) {
        length = parameters_.Parameters.Read.Length;
      } else if (major_ == IRP_MJ_WRITE) {
        length = parameters_.Parameters.Write.Length;
      } else if (major_ == IRP_MJ_DEVICE_CONTROL && user_mode_requestor() &&
                 parameters_.Parameters.DeviceIoControl.OutputBufferLength > 0) {
        length = parameters_.Parameters.DeviceIoControl.OutputBufferLength;
      } else {
        checked = false;
      }
      if (checked && irp_->IoStatus.Information > length) {
        w.Report(RuleId::kInformationLengthMismatch, ddi,
                 absl::StrFormat("completed with Information %d, larger than the buffer length %d",
                                 irp_->IoStatus.Information, length),
                 {this}, 0x4, reinterpret_cast<uint64_t>(handle()));
      }
    }
  }
  if (completion_refs_ > 0) {
    w.Report(RuleId::kCompleteWhileSent, ddi, "the request is completed while it is still pending on an I/O target",
             {this});
  }
  completed_ = true;
  completed_by_driver_ = true;
  const NTSTATUS final_status = RemapWdfStatus(status);
  if (!from_io() && !can_complete_ && w.verifier_on()) {
    w.Report(RuleId::kReqDelete, ddi, "completing a request the driver created; delete or reuse it instead", {this});
  }
  ReleaseAndRestore();
  if (from_io()) {
    DisposeTree();  // EarlyDispose: the driver's cleanup runs while the IRP is valid
    DestroyChildren(ddi);
  }
  if (irp_references_ != 0) {
    w.Report(RuleId::kCompleteWithMemoryReferenced, ddi,
             absl::StrFormat("completed while %d reference%s on its WDFMEMORY %s still outstanding", irp_references_,
                             irp_references_ == 1 ? "" : "s", irp_references_ == 1 ? "is" : "are"),
             {this}, reinterpret_cast<uint64_t>(handle()), static_cast<uint64_t>(irp_references_));
  }
  if (irp_ == nullptr) {
    w.Report(RuleId::kRequestWithoutIrp, ddi, "the request has no IRP: the framework dereferences NULL", {this});
  }
  irp_->IoStatus.Status = final_status;
  w.Log(EventKind::kRequestCompleted, ddi, serial(), final_status, static_cast<int64_t>(irp_->IoStatus.Information));
  if (from_io()) {
    IRP* irp = irp_;
    irp_ = nullptr;
    // The framework takes its cancel routine off the IRP of a request the
    // driver completes while still cancelable (reported above).
    if (cancelable_ && irp->CancelRoutine == &RequestIrpCancel) irp->CancelRoutine = nullptr;
    ClearCancelable();
    // Completed while still sent (reported above): the walk runs the target's
    // completion routine, which drops the target's reference, maybe the last
    // one (the driver deleted the request). This call holds it till the end.
    const bool sent = completion_refs_ > 0;
    if (sent) Hold();
    CompleteIrp(w, irp, boost, ddi);
    // PostProcessCompletion: the request leaves the driver and its queue,
    // then is deleted.
    driver_owned_ = false;
    Queue* queue = queue_;
    ReleaseCreationReference(ddi);
    if (queue != nullptr) queue->RequestCompleted(this);
    if (sent) Unhold(ddi);
    return;
  }
  // PreProcessCompletionForDriverRequest: the creation reference goes, while
  // the object is still parented (0x10D/0x7 in ~FxObject).
  Release(ddi);
}

NTSTATUS Request::Reuse(const WDF_REQUEST_REUSE_PARAMS& params, Ddi ddi) {
  World& w = world();
  const uint32_t minor = w.options().kmdf_minor_version;
  if (sent_to_target_ && w.verifier_on() && minor >= 9) {
    w.Report(RuleId::kReuseWhileSent, ddi, "WdfRequestReuse on a request still pending on an I/O target", {this});
  }
  if (minor >= 9) SetCompletionRoutine(nullptr, nullptr);
  if (irp_ != nullptr) ReleaseAndRestore();
  if (from_io()) {
    if (params.Flags & WDF_REQUEST_REUSE_SET_NEW_IRP) return STATUS_WDF_REQUEST_INVALID_STATE;
    if (irp_ == nullptr) {
      w.Report(RuleId::kRequestWithoutIrp, ddi, "WdfRequestReuse of a completed request: its IRP is gone", {this});
    }
    irp_->IoStatus.Status = params.Status;
    irp_->Cancel = FALSE;
    completed_ = false;
    canceled_ = false;
    return STATUS_SUCCESS;
  }
  if (params.Flags & kReuseMustComplete) {
    if (irp_ == nullptr) {
      w.Report(RuleId::kReuseInvalid, ddi, "WDF_REQUEST_REUSE_MUST_COMPLETE on a request with no IRP", {this});
      return STATUS_INVALID_PARAMETER;
    }
    if (allocation_ == Allocation::kInternal) {
      w.Report(RuleId::kReuseInvalid, ddi, "WDF_REQUEST_REUSE_MUST_COMPLETE on a request whose IRP the framework owns",
               {this});
      return STATUS_INVALID_DEVICE_REQUEST;
    }
  }
  if (params.Flags & WDF_REQUEST_REUSE_SET_NEW_IRP) {
    w.RequireNotNull(params.NewIrp, ddi, "ReuseParams->NewIrp");
    if (irp_ != nullptr && allocation_ == Allocation::kInternal) FreeIrp(w, irp_);
    irp_ = params.NewIrp;
    allocation_ = Allocation::kDriver;
  } else if (allocation_ == Allocation::kInternal && irp_ != nullptr) {
    ResetIrp(irp_, params.Status);  // IoReuseIrp
  }
  can_complete_ = false;
  completed_ = irp_ == nullptr;
  canceled_ = false;
  driver_owned_ = false;
  return STATUS_SUCCESS;
}

}  // namespace wdfsim::core
