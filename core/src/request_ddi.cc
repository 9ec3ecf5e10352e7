// WdfRequest* DDIs of the request core (SEMANTICS-WDF 4.1, 4.6-4.8;
// fxrequestapi.cpp).
#include "absl/strings/str_format.h"
#include "io_target.h"
#include "object_attributes.h"
#include "request.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::Object;
using wdfsim::core::ObjectType;
using wdfsim::core::Request;
using wdfsim::core::RequestMemory;
using wdfsim::core::World;

namespace {

Request* ResolveRequest(World& w, WDFREQUEST handle, Ddi ddi) {
  return static_cast<Request*>(w.Resolve(handle, ddi, {ObjectType::kRequest}));
}

// VerifyRequestComplete: with the verifier on, a request that fails these
// checks is not completed and the DDI returns silently.
bool VerifyRequestComplete(World& w, Request& request, Ddi ddi) {
  if (!w.verifier_on()) return true;
  if (!request.driver_owned()) {
    if (!request.from_io()) {
      w.Report(RuleId::kReqDelete, ddi, "completing a request the driver created; delete or reuse it instead",
               {&request});
    } else if (request.was_completed_by_driver()) {
      w.Report(RuleId::kDoubleCompletion, ddi, "the request was already completed", {&request});
    } else {
      w.Report(RuleId::kRequestNotOwned, ddi, "the request is not owned by the driver", {&request});
    }
    return false;
  }
  if (w.options().kmdf_minor_version < 11) {
    if (!request.from_io()) {
      w.Report(RuleId::kReqDelete, ddi, "completing a request the driver created", {&request});
      return false;
    }
    return true;
  }
  if (request.irp() == nullptr || request.irp()->CurrentLocation > request.irp()->StackCount) {
    w.Report(RuleId::kRequestNotOwned, ddi, "the request has no IRP or no valid current stack location", {&request});
    return false;
  }
  if (!request.can_complete()) {
    w.Report(RuleId::kReqDelete, ddi, "the request cannot be completed by the driver", {&request});
    return false;
  }
  return true;
}

void Complete(WDFREQUEST Request, NTSTATUS Status, const ULONG_PTR* Information, CCHAR Boost, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  if (!VerifyRequestComplete(w, *request, ddi)) return;
  if (Information != nullptr) {
    if (request->irp() == nullptr) {
      w.Report(RuleId::kRequestWithoutIrp, ddi, "the request has no IRP to set Information on", {request});
    }
    request->irp()->IoStatus.Information = *Information;
  }
  request->CompleteInternal(Status, Boost, ddi);
}

// The IRP a request DDI is about to read; RequestWithoutIrp if none.
IRP* RequireIrp(World& w, Request& request, Ddi ddi) {
  if (request.irp() == nullptr) {
    w.Report(RuleId::kRequestWithoutIrp, ddi,
             request.from_io() ? "the request was completed: its IRP is gone"
                               : "the request has no IRP (it was never formatted or sent)",
             {&request});
  }
  return request.irp();
}

// FxRequest::GetMemoryObject / GetDeviceControlOutputMemoryObject.
NTSTATUS GetMemoryObject(World& w, Request& request, bool output, Ddi ddi, RequestMemory** memory) {
  const UCHAR major = request.major_function();
  if (w.verifier_on() && request.completed()) {
    w.Report(RuleId::kRequestAlreadyCompleted, ddi, "the request is already completed", {&request});
    return STATUS_INTERNAL_ERROR;
  }
  const bool ioctl = major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  const auto& p = request.parameters().Parameters;
  const ULONG method = METHOD_FROM_CTL_CODE(p.DeviceIoControl.IoControlCode);
  const bool neither_allowed = !request.user_mode_requestor() || major == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  NTSTATUS status = STATUS_SUCCESS;
  if (output && ioctl) {
    if (p.DeviceIoControl.OutputBufferLength == 0) return STATUS_BUFFER_TOO_SMALL;
    if (method == METHOD_NEITHER && !neither_allowed) return STATUS_INVALID_DEVICE_REQUEST;
    if ((method == METHOD_IN_DIRECT || method == METHOD_OUT_DIRECT) && request.captured_output_buffer() == nullptr) {
      return STATUS_BUFFER_TOO_SMALL;
    }
    *memory = &request.OutputBufferMemory();
    return STATUS_SUCCESS;
  }
  if (w.verifier_on() && request.user_mode_requestor() && (major == IRP_MJ_READ || major == IRP_MJ_WRITE) &&
      request.io_type() == wdfsim::IoType::kNeither) {
    w.Report(RuleId::kRequestBufferUnavailable, ddi,
             "the neither-I/O buffer of a user-mode request must be probed, not retrieved", {&request});
    status = STATUS_INVALID_DEVICE_REQUEST;
  }
  size_t length = 0;
  if (ioctl) {
    if (p.DeviceIoControl.InputBufferLength == 0) return STATUS_BUFFER_TOO_SMALL;
    if (method == METHOD_NEITHER && !neither_allowed) return STATUS_INVALID_DEVICE_REQUEST;
    length = p.DeviceIoControl.InputBufferLength;
  } else if (major == IRP_MJ_READ) {
    length = p.Read.Length;
  } else if (major == IRP_MJ_WRITE) {
    length = p.Write.Length;
  } else {
    w.Report(RuleId::kRequestBufferUnavailable, ddi, "the request's major function has no buffer", {&request});
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (length == 0) return STATUS_BUFFER_TOO_SMALL;
  if (!NT_SUCCESS(status)) return status;
  if (request.io_type() == wdfsim::IoType::kDirect && !ioctl && request.captured_system_buffer() == nullptr) {
    return STATUS_BUFFER_TOO_SMALL;
  }
  *memory = &request.SystemBufferMemory();
  return STATUS_SUCCESS;
}

// The Retrieve DDIs' common path: handle, the READ/WRITE gate, the worker.
NTSTATUS RetrieveMemory(WDFREQUEST Request, bool output, Ddi ddi, RequestMemory** memory) {
  World& w = World::Current();
  auto* request = ResolveRequest(w, Request, ddi);
  RequireIrp(w, *request, ddi);  // GetFxIrp()->GetMajorFunction()
  const UCHAR major = request->major_function();
  if (!output && major == IRP_MJ_READ) return STATUS_INVALID_DEVICE_REQUEST;
  if (output && major == IRP_MJ_WRITE) return STATUS_INVALID_DEVICE_REQUEST;
  const bool ioctl = major == IRP_MJ_DEVICE_CONTROL || major == IRP_MJ_INTERNAL_DEVICE_CONTROL;
  return GetMemoryObject(w, *request, output && ioctl, ddi, memory);
}

NTSTATUS RetrieveBuffer(WDFREQUEST Request, size_t RequiredLength, PVOID* Buffer, size_t* Length, bool output,
                        Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  ResolveRequest(w, Request, ddi);
  w.RequireNotNull(Buffer, ddi, "Buffer");
  *Buffer = nullptr;
  if (Length != nullptr) *Length = 0;
  RequestMemory* memory = nullptr;
  const NTSTATUS status = RetrieveMemory(Request, output, ddi, &memory);
  if (!NT_SUCCESS(status)) return status;
  if (memory->size() < RequiredLength) return STATUS_BUFFER_TOO_SMALL;
  *Buffer = memory->buffer();
  if (Length != nullptr) *Length = memory->size();
  return STATUS_SUCCESS;
}

NTSTATUS RetrieveMemoryDdi(WDFREQUEST Request, WDFMEMORY* Memory, bool output, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  ResolveRequest(w, Request, ddi);
  w.RequireNotNull(Memory, ddi, "Memory");
  RequestMemory* memory = nullptr;
  const NTSTATUS status = RetrieveMemory(Request, output, ddi, &memory);
  if (NT_SUCCESS(status)) *Memory = static_cast<WDFMEMORY>(memory->handle());
  return status;
}

}  // namespace

extern "C" {

NTSTATUS WdfRequestCreate(PWDF_OBJECT_ATTRIBUTES RequestAttributes, WDFIOTARGET IoTarget, WDFREQUEST* Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestCreate);
  w.RequireNotNull(Request, Ddi::kWdfRequestCreate, "Request");
  wdfsim::core::IoTarget* target = nullptr;
  if (IoTarget != nullptr) {
    target = static_cast<wdfsim::core::IoTarget*>(w.Resolve(IoTarget, Ddi::kWdfRequestCreate, {ObjectType::kIoTarget}));
  }
  NTSTATUS status = wdfsim::core::ValidateObjectAttributes(RequestAttributes, 0);
  if (!NT_SUCCESS(status)) return status;
  Object* parent = nullptr;
  status = wdfsim::core::ResolveParent(w, RequestAttributes, Ddi::kWdfRequestCreate, &parent);
  if (!NT_SUCCESS(status)) return status;
  auto* request = new wdfsim::core::Request(w, Request::Allocation::kInternal);
  if (target != nullptr) {
    // The IRP is allocated for the target now (ValidateTarget).
    status = target->ValidateTarget(*request);
    if (!NT_SUCCESS(status)) {
      delete request;
      return status;
    }
  }
  request->ApplyAttributes(RequestAttributes);
  request->Commit(parent);
  *Request = static_cast<WDFREQUEST>(request->handle());
  return STATUS_SUCCESS;
}

NTSTATUS WdfRequestReuse(WDFREQUEST Request, PWDF_REQUEST_REUSE_PARAMS ReuseParams) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestReuse, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestReuse);
  w.RequireNotNull(ReuseParams, Ddi::kWdfRequestReuse, "ReuseParams");
  if (ReuseParams->Size != sizeof(WDF_REQUEST_REUSE_PARAMS)) return STATUS_INVALID_PARAMETER;
  ULONG valid = WDF_REQUEST_REUSE_SET_NEW_IRP;
  if (w.options().kmdf_minor_version >= 11) valid |= 0x2;  // WDF_REQUEST_REUSE_MUST_COMPLETE
  if (ReuseParams->Flags & ~valid) return STATUS_INVALID_PARAMETER;
  return request->Reuse(*ReuseParams, Ddi::kWdfRequestReuse);
}

VOID WdfRequestComplete(WDFREQUEST Request, NTSTATUS Status) {
  Complete(Request, Status, nullptr, IO_NO_INCREMENT, Ddi::kWdfRequestComplete);
}

VOID WdfRequestCompleteWithInformation(WDFREQUEST Request, NTSTATUS Status, ULONG_PTR Information) {
  Complete(Request, Status, &Information, IO_NO_INCREMENT, Ddi::kWdfRequestCompleteWithInformation);
}

VOID WdfRequestCompleteWithPriorityBoost(WDFREQUEST Request, NTSTATUS Status, CCHAR PriorityBoost) {
  Complete(Request, Status, nullptr, PriorityBoost, Ddi::kWdfRequestCompleteWithPriorityBoost);
}

NTSTATUS WdfRequestGetStatus(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetStatus, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestGetStatus);
  return RequireIrp(w, *request, Ddi::kWdfRequestGetStatus)->IoStatus.Status;
}

ULONG_PTR WdfRequestGetInformation(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetInformation, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestGetInformation);
  if (w.verifier_on() && request->completed()) {
    w.Report(RuleId::kRequestAlreadyCompleted, Ddi::kWdfRequestGetInformation, "the request is already completed",
             {request});
    return 0;
  }
  return RequireIrp(w, *request, Ddi::kWdfRequestGetInformation)->IoStatus.Information;
}

VOID WdfRequestSetInformation(WDFREQUEST Request, ULONG_PTR Information) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestSetInformation, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestSetInformation);
  if (w.verifier_on() && request->completed()) {
    w.Report(RuleId::kRequestAlreadyCompleted, Ddi::kWdfRequestSetInformation, "the request is already completed",
             {request});
    return;
  }
  RequireIrp(w, *request, Ddi::kWdfRequestSetInformation)->IoStatus.Information = Information;
}

VOID WdfRequestGetCompletionParams(WDFREQUEST Request, PWDF_REQUEST_COMPLETION_PARAMS Params) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestGetCompletionParams, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestGetCompletionParams);
  w.RequireNotNull(Params, Ddi::kWdfRequestGetCompletionParams, "Params");
  if (Params->Size != sizeof(WDF_REQUEST_COMPLETION_PARAMS)) {
    w.Report(RuleId::kCompletionParamsInvalid, Ddi::kWdfRequestGetCompletionParams,
             absl::StrFormat("Params->Size is %d, expected %d", Params->Size, sizeof(WDF_REQUEST_COMPLETION_PARAMS)),
             {request});
    return;
  }
  // FxRequest::CopyCompletionParams.
  if (!request->has_context()) {
    w.Report(RuleId::kCompletionParamsInvalid, Ddi::kWdfRequestGetCompletionParams,
             "the request was never formatted with a WdfIoTargetFormatRequest* DDI", {request});
    WDF_REQUEST_COMPLETION_PARAMS_INIT(Params);
    return;
  }
  *Params = request->completion_params();
}

VOID WdfRequestSetCompletionRoutine(WDFREQUEST Request, PFN_WDF_REQUEST_COMPLETION_ROUTINE CompletionRoutine,
                                    WDFCONTEXT CompletionContext) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestSetCompletionRoutine, Request);
  ResolveRequest(w, Request, Ddi::kWdfRequestSetCompletionRoutine)
      ->SetCompletionRoutine(CompletionRoutine, CompletionContext);
}

NTSTATUS WdfRequestRetrieveInputMemory(WDFREQUEST Request, WDFMEMORY* Memory) {
  return RetrieveMemoryDdi(Request, Memory, false, Ddi::kWdfRequestRetrieveInputMemory);
}

NTSTATUS WdfRequestRetrieveOutputMemory(WDFREQUEST Request, WDFMEMORY* Memory) {
  return RetrieveMemoryDdi(Request, Memory, true, Ddi::kWdfRequestRetrieveOutputMemory);
}

NTSTATUS WdfRequestRetrieveInputBuffer(WDFREQUEST Request, size_t MinimumRequiredLength, PVOID* Buffer,
                                       size_t* Length) {
  return RetrieveBuffer(Request, MinimumRequiredLength, Buffer, Length, false, Ddi::kWdfRequestRetrieveInputBuffer);
}

NTSTATUS WdfRequestRetrieveOutputBuffer(WDFREQUEST Request, size_t MinimumRequiredSize, PVOID* Buffer, size_t* Length) {
  return RetrieveBuffer(Request, MinimumRequiredSize, Buffer, Length, true, Ddi::kWdfRequestRetrieveOutputBuffer);
}

PIRP WdfRequestWdmGetIrp(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestWdmGetIrp, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestWdmGetIrp);
  if (w.verifier_on() && request->completed()) {
    w.Report(RuleId::kRequestAlreadyCompleted, Ddi::kWdfRequestWdmGetIrp, "the request is already completed",
             {request});
  }
  return request->irp();
}

}  // extern "C"
