// WDFIOTARGET and sending DDIs (SEMANTICS-WDF 1.2, 2, 3.2, 4.2-4.5, 4.9;
// fxiotargetapi.cpp, fxrequestapi.cpp).
#include <cstring>
#include <memory>

#include "absl/strings/str_format.h"
#include "io_target.h"
#include "irp.h"
#include "memory.h"
#include "request.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::FormatBuffer;
using wdfsim::core::MemoryBase;
using wdfsim::core::ObjectType;
using wdfsim::core::SyncWait;
using wdfsim::core::World;
namespace core = wdfsim::core;

namespace {

constexpr ULONG kValidSendFlags = WDF_REQUEST_SEND_OPTION_TIMEOUT | WDF_REQUEST_SEND_OPTION_SYNCHRONOUS |
                                  WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE | WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET;

core::IoTarget* ResolveTarget(World& w, WDFIOTARGET handle, Ddi ddi) {
  return static_cast<core::IoTarget*>(w.Resolve(handle, ddi, {ObjectType::kIoTarget}));
}

core::Request* ResolveRequest(World& w, WDFREQUEST handle, Ddi ddi) {
  return static_cast<core::Request*>(w.Resolve(handle, ddi, {ObjectType::kRequest}));
}

MemoryBase* ResolveMemory(World& w, WDFMEMORY handle, Ddi ddi) {
  return static_cast<MemoryBase*>(w.Resolve(handle, ddi, {ObjectType::kMemory, ObjectType::kRequestMemory}));
}

// FxValidateRequestOptions: Size, then the mask, then SEND_AND_FORGET alone.
NTSTATUS ValidateRequestOptions(const WDF_REQUEST_SEND_OPTIONS* options) {
  if (options == nullptr) return STATUS_SUCCESS;
  if (options->Size != sizeof(WDF_REQUEST_SEND_OPTIONS)) return STATUS_INFO_LENGTH_MISMATCH;
  if (options->Flags & ~kValidSendFlags) return STATUS_INVALID_PARAMETER;
  if ((options->Flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET) &&
      (options->Flags & ~ULONG{WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET})) {
    return STATUS_INVALID_PARAMETER;
  }
  return STATUS_SUCCESS;
}

// IFxMemory::ValidateMemoryOffsets and the buffer a memory handle describes.
NTSTATUS MemoryBuffer(MemoryBase* memory, const WDFMEMORY_OFFSET* offsets, FormatBuffer* out) {
  const size_t size = memory->size();
  size_t offset = 0, length = size;
  if (offsets != nullptr) {
    if (offsets->BufferLength + offsets->BufferOffset < offsets->BufferLength) return STATUS_INTEGER_OVERFLOW;
    if (offsets->BufferOffset + offsets->BufferLength > size) return STATUS_INTEGER_OVERFLOW;
    offset = offsets->BufferOffset;
    length = offsets->BufferLength != 0 ? offsets->BufferLength : size - offset;
  }
  out->memory = memory;
  out->buffer = static_cast<unsigned char*>(memory->buffer()) + offset;
  out->length = static_cast<ULONG>(length);  // GetBufferLength truncates to ULONG
  out->offset = offset;
  return STATUS_SUCCESS;
}

// FxRequestBuffer::ValidateMemoryDescriptor (Flags = 0).
NTSTATUS DescriptorBuffer(World& w, const WDF_MEMORY_DESCRIPTOR* descriptor, Ddi ddi, FormatBuffer* out) {
  *out = FormatBuffer{};
  if (descriptor == nullptr) return STATUS_SUCCESS;
  int type;  // C callers may store any value: read it as an integer
  memcpy(&type, &descriptor->Type, sizeof(type));
  switch (type) {
    case WdfMemoryDescriptorTypeBuffer:
      if (descriptor->u.BufferType.Buffer == nullptr) return STATUS_INVALID_PARAMETER;
      out->buffer = descriptor->u.BufferType.Buffer;
      out->length = descriptor->u.BufferType.Length;
      return STATUS_SUCCESS;
    case WdfMemoryDescriptorTypeMdl:
      if (descriptor->u.MdlType.Mdl == nullptr) return STATUS_INVALID_PARAMETER;
      out->buffer = MmGetMdlVirtualAddress(descriptor->u.MdlType.Mdl);
      out->length = descriptor->u.MdlType.BufferLength;
      return STATUS_SUCCESS;
    case WdfMemoryDescriptorTypeHandle:
      if (descriptor->u.HandleType.Memory == nullptr) return STATUS_INVALID_PARAMETER;
      return MemoryBuffer(ResolveMemory(w, descriptor->u.HandleType.Memory, ddi), descriptor->u.HandleType.Offsets,
                          out);
    default: return STATUS_INVALID_PARAMETER;
  }
}

// FxIoTargetFormatIo / FxIoTargetFormatIoctl.
NTSTATUS FormatDdi(WDFIOTARGET IoTarget, WDFREQUEST Request, UCHAR major, ULONG ioctl, WDFMEMORY input,
                   PWDFMEMORY_OFFSET input_offsets, WDFMEMORY output, PWDFMEMORY_OFFSET output_offsets,
                   PLONGLONG device_offset, Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  core::IoTarget* target = ResolveTarget(w, IoTarget, ddi);
  core::Request* request = ResolveRequest(w, Request, ddi);
  FormatBuffer in, out;
  if (input != nullptr) {
    const NTSTATUS status = MemoryBuffer(ResolveMemory(w, input, ddi), input_offsets, &in);
    if (!NT_SUCCESS(status)) return status;
  }
  if (output != nullptr) {
    const NTSTATUS status = MemoryBuffer(ResolveMemory(w, output, ddi), output_offsets, &out);
    if (!NT_SUCCESS(status)) return status;
  }
  return target->Format(*request, major, ioctl, in, out, device_offset ? *device_offset : 0);
}

// FxIoTargetSendIo / FxIoTargetSendIoctl.
NTSTATUS SendSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, UCHAR major, ULONG ioctl,
                           const WDF_MEMORY_DESCRIPTOR* input, const WDF_MEMORY_DESCRIPTOR* output,
                           PLONGLONG device_offset, const WDF_REQUEST_SEND_OPTIONS* options, PULONG_PTR bytes,
                           Ddi ddi) {
  World& w = World::Current();
  w.EnterDdi(ddi, Request);
  core::IoTarget* target = ResolveTarget(w, IoTarget, ddi);
  // The FxSyncRequest: the driver's request, or a handle-less internal one.
  std::unique_ptr<core::Request> internal;
  core::Request* request;
  if (Request != nullptr) {
    request = ResolveRequest(w, Request, ddi);
    request->DeleteContext();  // before any other check (SEMANTICS-WDF 1.2 step 2)
  } else {
    internal = std::make_unique<core::Request>(w, core::Request::Allocation::kInternal);
    request = internal.get();
  }
  if (!w.VerifierIrqlOk(ddi, PASSIVE_LEVEL)) return STATUS_INVALID_DEVICE_REQUEST;
  NTSTATUS status = ValidateRequestOptions(options);
  if (!NT_SUCCESS(status)) return status;
  FormatBuffer in, out;
  if (!NT_SUCCESS(status = DescriptorBuffer(w, input, ddi, &in))) return status;
  if (!NT_SUCCESS(status = DescriptorBuffer(w, output, ddi, &out))) return status;
  status = target->Format(*request, major, ioctl, in, out, device_offset ? *device_offset : 0);
  if (!NT_SUCCESS(status)) return status;
  // The synchronous DDIs drop a completion routine the driver set.
  request->SetCompletionRoutine(nullptr, nullptr);
  SyncWait sync;
  bool sent = false;
  status = target->SendSync(*request, options, sync, &sent, ddi);
  if (bytes != nullptr) *bytes = request->irp()->IoStatus.Information;
  request->DeleteContext();  // FxRequestBaseSyncCleanupContext; ~FxSyncRequest clears the context
  return status;
}

}  // namespace

extern "C" {

NTSTATUS WdfIoTargetStart(WDFIOTARGET IoTarget) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetStart, IoTarget);
  return ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetStart)->Start(Ddi::kWdfIoTargetStart);
}

VOID WdfIoTargetStop(WDFIOTARGET IoTarget, WDF_IO_TARGET_SENT_IO_ACTION Action) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetStop, IoTarget);
  ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetStop)->Stop(Action, Ddi::kWdfIoTargetStop);
}

VOID WdfIoTargetPurge(WDFIOTARGET IoTarget, WDF_IO_TARGET_PURGE_IO_ACTION Action) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetPurge, IoTarget);
  ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetPurge)->Purge(Action, Ddi::kWdfIoTargetPurge);
}

VOID WdfIoTargetClose(WDFIOTARGET IoTarget) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetClose, IoTarget);
  ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetClose)->Close(Ddi::kWdfIoTargetClose);
}

WDF_IO_TARGET_STATE WdfIoTargetGetState(WDFIOTARGET IoTarget) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetGetState, IoTarget);
  return ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetGetState)->state();
}

PDEVICE_OBJECT WdfIoTargetWdmGetTargetDeviceObject(WDFIOTARGET IoTarget) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfIoTargetWdmGetTargetDeviceObject, IoTarget);
  return ResolveTarget(w, IoTarget, Ddi::kWdfIoTargetWdmGetTargetDeviceObject)->device();
}

NTSTATUS WdfIoTargetFormatRequestForRead(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY OutputBuffer,
                                         PWDFMEMORY_OFFSET OutputBufferOffset, PLONGLONG DeviceOffset) {
  return FormatDdi(IoTarget, Request, IRP_MJ_READ, 0, nullptr, nullptr, OutputBuffer, OutputBufferOffset, DeviceOffset,
                   Ddi::kWdfIoTargetFormatRequestForRead);
}

NTSTATUS WdfIoTargetFormatRequestForWrite(WDFIOTARGET IoTarget, WDFREQUEST Request, WDFMEMORY InputBuffer,
                                          PWDFMEMORY_OFFSET InputBufferOffset, PLONGLONG DeviceOffset) {
  return FormatDdi(IoTarget, Request, IRP_MJ_WRITE, 0, InputBuffer, InputBufferOffset, nullptr, nullptr, DeviceOffset,
                   Ddi::kWdfIoTargetFormatRequestForWrite);
}

NTSTATUS WdfIoTargetFormatRequestForIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                          WDFMEMORY InputBuffer, PWDFMEMORY_OFFSET InputBufferOffset,
                                          WDFMEMORY OutputBuffer, PWDFMEMORY_OFFSET OutputBufferOffset) {
  return FormatDdi(IoTarget, Request, IRP_MJ_DEVICE_CONTROL, IoctlCode, InputBuffer, InputBufferOffset, OutputBuffer,
                   OutputBufferOffset, nullptr, Ddi::kWdfIoTargetFormatRequestForIoctl);
}

NTSTATUS WdfIoTargetFormatRequestForInternalIoctl(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                  WDFMEMORY InputBuffer, PWDFMEMORY_OFFSET InputBufferOffset,
                                                  WDFMEMORY OutputBuffer, PWDFMEMORY_OFFSET OutputBufferOffset) {
  return FormatDdi(IoTarget, Request, IRP_MJ_INTERNAL_DEVICE_CONTROL, IoctlCode, InputBuffer, InputBufferOffset,
                   OutputBuffer, OutputBufferOffset, nullptr, Ddi::kWdfIoTargetFormatRequestForInternalIoctl);
}

NTSTATUS WdfIoTargetSendReadSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                          PLONGLONG DeviceOffset, PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                          PULONG_PTR BytesRead) {
  return SendSynchronously(IoTarget, Request, IRP_MJ_READ, 0, nullptr, OutputBuffer, DeviceOffset, RequestOptions,
                           BytesRead, Ddi::kWdfIoTargetSendReadSynchronously);
}

NTSTATUS WdfIoTargetSendWriteSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                           PLONGLONG DeviceOffset, PWDF_REQUEST_SEND_OPTIONS RequestOptions,
                                           PULONG_PTR BytesWritten) {
  return SendSynchronously(IoTarget, Request, IRP_MJ_WRITE, 0, InputBuffer, nullptr, DeviceOffset, RequestOptions,
                           BytesWritten, Ddi::kWdfIoTargetSendWriteSynchronously);
}

NTSTATUS WdfIoTargetSendIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                           PWDF_MEMORY_DESCRIPTOR InputBuffer, PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                           PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR BytesReturned) {
  return SendSynchronously(IoTarget, Request, IRP_MJ_DEVICE_CONTROL, IoctlCode, InputBuffer, OutputBuffer, nullptr,
                           RequestOptions, BytesReturned, Ddi::kWdfIoTargetSendIoctlSynchronously);
}

NTSTATUS WdfIoTargetSendInternalIoctlSynchronously(WDFIOTARGET IoTarget, WDFREQUEST Request, ULONG IoctlCode,
                                                   PWDF_MEMORY_DESCRIPTOR InputBuffer,
                                                   PWDF_MEMORY_DESCRIPTOR OutputBuffer,
                                                   PWDF_REQUEST_SEND_OPTIONS RequestOptions, PULONG_PTR BytesReturned) {
  return SendSynchronously(IoTarget, Request, IRP_MJ_INTERNAL_DEVICE_CONTROL, IoctlCode, InputBuffer, OutputBuffer,
                           nullptr, RequestOptions, BytesReturned, Ddi::kWdfIoTargetSendInternalIoctlSynchronously);
}

BOOLEAN WdfRequestSend(WDFREQUEST Request, WDFIOTARGET Target, PWDF_REQUEST_SEND_OPTIONS Options) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestSend;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  if (!NT_SUCCESS(ValidateRequestOptions(Options))) {
    // Every validation failure becomes STATUS_INVALID_PARAMETER here.
    if (request->irp() != nullptr) request->irp()->IoStatus.Status = STATUS_INVALID_PARAMETER;
    w.Report(RuleId::kSendOptionsInvalid, ddi, "the send options are invalid", {request});
    return FALSE;
  }
  core::IoTarget* target = ResolveTarget(w, Target, ddi);
  const ULONG flags = Options != nullptr ? Options->Flags : 0;
  if (flags & WDF_REQUEST_SEND_OPTION_SYNCHRONOUS) {
    SyncWait sync;
    sync.call_driver_routine = true;
    bool sent = false;
    target->SendSync(*request, Options, sync, &sent, ddi);
    return sent ? TRUE : FALSE;
  }
  if (flags & WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET) {
    if (!request->from_io()) {
      if (request->irp() != nullptr) request->irp()->IoStatus.Status = STATUS_INVALID_DEVICE_STATE;
      return FALSE;
    }
    if (request->has_context()) {
      request->irp()->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
      w.Report(RuleId::kSendAndForgetMisuse, ddi, "send-and-forget of a request formatted for a target", {request});
      return FALSE;
    }
    if (w.verifier_on() && request->completion_routine() != nullptr) {
      w.Report(RuleId::kSendAndForgetMisuse, ddi, "send-and-forget of a request with a completion routine", {request});
    }
    target->SendAndForget(*request, ddi);
    return TRUE;
  }
  if (request->from_io() && request->completion_routine() == nullptr) {
    if (request->irp() != nullptr) request->irp()->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    w.Report(RuleId::kReqCompletionRoutine, ddi, "an asynchronous send of a queue request needs a completion routine",
             {request});
    return FALSE;
  }
  return target->SendAsync(*request, Options, ddi) ? TRUE : FALSE;
}

BOOLEAN WdfRequestCancelSentRequest(WDFREQUEST Request) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestCancelSentRequest, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestCancelSentRequest);
  // Never sent, or completed (its last target may be gone since): the cancel
  // only sticks (SEMANTICS-WDF 4.5).
  if (request->target() == nullptr || request->completion_references() == 0) {
    request->MarkCanceled();
    return FALSE;
  }
  return request->target()->Cancel(*request, Ddi::kWdfRequestCancelSentRequest);
}

NTSTATUS WdfRequestChangeTarget(WDFREQUEST Request, WDFIOTARGET IoTarget) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kWdfRequestChangeTarget, Request);
  auto* request = ResolveRequest(w, Request, Ddi::kWdfRequestChangeTarget);
  return ResolveTarget(w, IoTarget, Ddi::kWdfRequestChangeTarget)->ValidateTarget(*request);
}

VOID WdfRequestFormatRequestUsingCurrentType(WDFREQUEST Request) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestFormatRequestUsingCurrentType;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  IRP* irp = request->irp();
  if (irp == nullptr) {
    w.Report(RuleId::kFormatNullIrp, ddi, "the request has no IRP", {request}, 0x2,
             reinterpret_cast<uint64_t>(request->handle()));
  }
  if (irp->CurrentLocation < 2) {
    w.Report(RuleId::kFormatNoMoreStackLocations, ddi, "the IRP has no next stack location", {request}, 0x1,
             reinterpret_cast<uint64_t>(irp));
  }
  // An earlier format's buffers go first (the framework leaves them attached:
  // the copied stack location would describe buffers the IRP no longer has).
  request->ReleaseAndRestore();
  IoCopyCurrentIrpStackLocationToNext(irp);
  request->MarkNextStackFormatted();
}

VOID WdfRequestWdmFormatUsingStackLocation(WDFREQUEST Request, PIO_STACK_LOCATION Stack) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kWdfRequestWdmFormatUsingStackLocation;
  w.EnterDdi(ddi, Request);
  auto* request = ResolveRequest(w, Request, ddi);
  w.RequireNotNull(Stack, ddi, "Stack");
  IRP* irp = request->irp();
  if (irp == nullptr) {
    w.Report(RuleId::kFormatNullIrp, ddi, "the request has no IRP", {request}, 0x2,
             reinterpret_cast<uint64_t>(request->handle()));
  }
  if (irp->CurrentLocation < 2) {
    w.Report(RuleId::kFormatNoMoreStackLocations, ddi, "the IRP has no next stack location", {request}, 0x1,
             reinterpret_cast<uint64_t>(irp));
  }
  request->ReleaseAndRestore();  // as WdfRequestFormatRequestUsingCurrentType
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  *next = *Stack;
  next->Control = 0;
  request->MarkNextStackFormatted();
}

}  // extern "C"
