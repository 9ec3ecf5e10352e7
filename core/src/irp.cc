#include "irp.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "world.h"

namespace wdfsim::core {
namespace {

PIO_STACK_LOCATION StackBase(IRP* irp) { return reinterpret_cast<PIO_STACK_LOCATION>(irp + 1); }

bool ShouldInvoke(const IO_STACK_LOCATION& location, const IRP& irp) {
  const NTSTATUS status = irp.IoStatus.Status;
  return (NT_SUCCESS(status) && (location.Control & SL_INVOKE_ON_SUCCESS)) ||
         (!NT_SUCCESS(status) && (location.Control & SL_INVOKE_ON_ERROR)) ||
         (irp.Cancel && (location.Control & SL_INVOKE_ON_CANCEL));
}

// IopClearStackLocation: keeps only SL_ERROR_RETURNED.
void ClearStackLocation(IO_STACK_LOCATION& location) {
  location.MinorFunction = 0;
  location.Flags = 0;
  location.Control &= SL_ERROR_RETURNED;
  memset(&location.Parameters, 0, sizeof(location.Parameters));
  location.FileObject = nullptr;
}

// IopCompleteRequest: the special kernel APC on the issuing thread.
void CompletionApc(World& world, IRP* irp) {
  IrpRecord* record = world.FindIrp(irp);
  if (record == nullptr) return;
  world.Log(EventKind::kIrpApc, Ddi::kCompletionApc, 0, record->serial);
  const NTSTATUS status = irp->IoStatus.Status;
  if ((irp->Flags & IRP_BUFFERED_IO) && (irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(status) &&
      status != STATUS_VERIFY_REQUIRED && irp->UserBuffer != nullptr && irp->AssociatedIrp.SystemBuffer != nullptr) {
    memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, irp->IoStatus.Information);
  }
  // Driver-built IRPs have no file object and are never IRP_SYNCHRONOUS_API
  // here, so IsIrpSynchronous is false (SEMANTICS-WDM A.3.2).
  const bool synchronous = (irp->Flags & IRP_SYNCHRONOUS_API) != 0;
  const bool write_back = !NT_ERROR(status) || (irp->PendingReturned && !synchronous);
  if (record->outcome >= 0) {
    IoOutcome& outcome = world.io_outcomes()[record->outcome];
    outcome.completed = true;
    if (record->user_buffer != nullptr) {
      const auto* bytes = static_cast<const uint8_t*>(record->user_buffer);
      outcome.data.assign(bytes, bytes + record->user_buffer_length);
    }
  }
  if (write_back && irp->UserIosb != nullptr) *irp->UserIosb = irp->IoStatus;
  FreeIrp(world, irp);
}

}  // namespace

IRP* AllocateIrp(World& world, CCHAR stack_size, IrpOrigin origin) {
  const size_t bytes = sizeof(IRP) + static_cast<size_t>(stack_size) * sizeof(IO_STACK_LOCATION);
  auto* irp = static_cast<IRP*>(std::calloc(1, bytes));
  if (irp == nullptr) return nullptr;
  irp->Type = IO_TYPE_IRP;
  irp->Size = static_cast<USHORT>(bytes);
  irp->StackCount = stack_size;
  irp->CurrentLocation = static_cast<CHAR>(stack_size + 1);
  irp->Tail.Overlay.CurrentStackLocation = StackBase(irp) + stack_size;
  irp->ThreadListEntry.Flink = irp->ThreadListEntry.Blink = &irp->ThreadListEntry;
  world.AddIrp(irp, origin);
  return irp;
}

void FreeIrpMemory(IRP* irp) {
  if ((irp->Flags & IRP_DEALLOCATE_BUFFER) && irp->AssociatedIrp.SystemBuffer != nullptr) {
    std::free(irp->AssociatedIrp.SystemBuffer);
  }
  for (PMDL mdl = irp->MdlAddress; mdl != nullptr;) {
    PMDL next = mdl->Next;
    std::free(mdl);
    mdl = next;
  }
  std::free(irp);
}

void FreeIrp(World& world, IRP* irp) {
  IrpRecord* record = world.FindIrp(irp);
  if (record != nullptr) {
    world.Log(EventKind::kIrpFreed, Ddi::kNone, 0, record->serial);
    if (record->user_buffer != nullptr) std::free(record->user_buffer);
    world.RemoveIrp(irp);
  }
  FreeIrpMemory(irp);
}

void CompleteIrp(World& world, IRP* irp, CCHAR priority_boost, Ddi ddi) {
  (void)priority_boost;
  IrpRecord* record = world.FindIrp(irp);
  const uint32_t serial = record ? record->serial : 0;
  if (IrpFullyCompleted(irp)) {
    world.Report(RuleId::kMultipleIrpComplete, ddi,
                 absl::StrFormat("IoCompleteRequest on IRP#%d, which is already completed", serial), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  if (irp->IoStatus.Status == STATUS_PENDING || irp->IoStatus.Status == static_cast<NTSTATUS>(-1)) {
    world.Report(RuleId::kCompleteRequestStatusCheck, ddi,
                 absl::StrFormat("IRP#%d completed with status 0x%08X", serial,
                                 static_cast<uint32_t>(irp->IoStatus.Status)),
                 {}, reinterpret_cast<uint64_t>(irp));
  }
  world.Log(EventKind::kIrpCompleted, ddi, 0, serial, irp->IoStatus.Status);

  // The stack walk: the IRP already points at the next-higher location while
  // a location's routine runs.
  PIO_STACK_LOCATION location = IoGetCurrentIrpStackLocation(irp);
  irp->CurrentLocation++;
  irp->Tail.Overlay.CurrentStackLocation++;
  for (; irp->CurrentLocation <= irp->StackCount + 1;
       ++location, irp->CurrentLocation++, irp->Tail.Overlay.CurrentStackLocation++) {
    irp->PendingReturned = (location->Control & SL_PENDING_RETURNED) != 0;
    PIO_COMPLETION_ROUTINE routine = location->CompletionRoutine;
    if (routine != nullptr && ShouldInvoke(*location, *irp)) {
      PVOID context = location->Context;
      ClearStackLocation(*location);
      PDEVICE_OBJECT device = irp->CurrentLocation == irp->StackCount + 1
                                  ? nullptr
                                  : IoGetCurrentIrpStackLocation(irp)->DeviceObject;
      location->CompletionRoutine = nullptr;
      location->Context = nullptr;
      if (routine(device, irp, context) == STATUS_MORE_PROCESSING_REQUIRED) return;
    } else {
      if (irp->CurrentLocation <= irp->StackCount && irp->PendingReturned) IoMarkIrpPending(irp);
      ClearStackLocation(*location);
      location->CompletionRoutine = nullptr;
      location->Context = nullptr;
    }
  }

  record = world.FindIrp(irp);
  if (record == nullptr) return;
  if (record->outcome >= 0) {
    // What the originator receives: the status and information as the walk
    // left them (written back by the APC, or returned by IoCallDriver).
    IoOutcome& outcome = world.io_outcomes()[record->outcome];
    outcome.completions++;
    outcome.status = irp->IoStatus.Status;
    outcome.information = irp->IoStatus.Information;
  }
  if ((irp->Flags & IRP_DEFER_IO_COMPLETION) && !irp->PendingReturned) return;
  if (record->origin == IrpOrigin::kIoManager && !record->apc_queued) {
    record->apc_queued = true;
    world.Schedule(world.now(), APC_LEVEL, "IopCompleteRequest", [&world, irp] { CompletionApc(world, irp); });
  }
}

}  // namespace wdfsim::core
