#include "irp.h"

#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "thread.h"
#include "unwound_stack.h"
#include "world.h"

namespace wdfsim::core {
namespace {

PIO_STACK_LOCATION StackBase(IRP* irp) { return reinterpret_cast<PIO_STACK_LOCATION>(irp + 1); }

// The I/O manager's buffer and the MDLs, not the IRP itself.
void FreeIrpBuffers(IRP* irp) {
  if ((irp->Flags & IRP_DEALLOCATE_BUFFER) && irp->AssociatedIrp.SystemBuffer != nullptr) {
    std::free(irp->AssociatedIrp.SystemBuffer);
  }
  for (PMDL mdl = irp->MdlAddress; mdl != nullptr;) {
    PMDL next = mdl->Next;
    std::free(mdl);
    mdl = next;
  }
}

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
  location.CompletionRoutine = nullptr;
  location.Context = nullptr;
}

// The 1-based index of a stack location, as CurrentLocation counts.
int LocationIndex(IRP* irp, const IO_STACK_LOCATION* location) {
  return static_cast<int>(location - StackBase(irp)) + 1;
}

void NotePendingMark(IrpRecord& record, IRP* irp, const IO_STACK_LOCATION* location) {
  if (location->Control & SL_PENDING_RETURNED) {
    const int index = LocationIndex(irp, location);
    if (index >= 1 && index <= 32) record.pending_marked |= 1u << (index - 1);
  }
}

// IopCompleteRequest: the special kernel APC on the issuing thread.
void CompletionApc(World& world, IRP* irp) {
  IrpRecord* record = world.FindIrp(irp);
  if (record == nullptr || record->freed) return;
  world.Log(EventKind::kIrpApc, Ddi::kCompletionApc, 0, record->serial);
  const NTSTATUS status = irp->IoStatus.Status;
  if ((irp->Flags & IRP_BUFFERED_IO) && (irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(status) &&
      status != STATUS_VERIFY_REQUIRED && irp->UserBuffer != nullptr && irp->AssociatedIrp.SystemBuffer != nullptr) {
    // The I/O manager copies Information bytes; a driver that reports more
    // than the buffers hold is reported at completion, and the copy stays
    // inside both buffers here.
    const size_t bytes =
        std::min<size_t>(irp->IoStatus.Information, std::min(record->system_buffer_length, record->user_buffer_length));
    memcpy(irp->UserBuffer, irp->AssociatedIrp.SystemBuffer, bytes);
  }
  // Driver-built IRPs have no file object and are never IRP_SYNCHRONOUS_API,
  // so IsIrpSynchronous is false (SEMANTICS-WDM A.3.2).
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
  if (write_back) {
    if (OnUnwoundStack(irp->UserIosb, sizeof(IO_STATUS_BLOCK))) {
      world.Report(RuleId::kIosbOnUnwoundStack, Ddi::kCompletionApc,
                   absl::StrFormat("IRP#%d's IO_STATUS_BLOCK is in a stack frame that has returned", record->serial),
                   {}, reinterpret_cast<uint64_t>(irp), reinterpret_cast<uint64_t>(irp->UserIosb));
    }
    if (irp->UserIosb != nullptr) *irp->UserIosb = irp->IoStatus;
    if (OnUnwoundStack(irp->UserEvent, sizeof(KEVENT))) {
      world.Report(RuleId::kEventOnUnwoundStack, Ddi::kCompletionApc,
                   absl::StrFormat("IRP#%d's KEVENT is in a stack frame that has returned", record->serial), {},
                   reinterpret_cast<uint64_t>(irp), reinterpret_cast<uint64_t>(irp->UserEvent));
    }
    if (irp->UserEvent != nullptr) SignalEvent(world, irp->UserEvent);
  }
  UnqueueIrpFromThread(irp);
  FreeIrp(world, irp);
}

}  // namespace

IRP* AllocateIrp(World& world, CCHAR stack_size, IrpOrigin origin) {
  // One guard location past the top: what CurrentStackLocation points at
  // while the creator owns the IRP, so a creator's IoMarkIrpPending (or a
  // read of its "current" location) stays inside the allocation and is
  // reported instead of corrupting memory.
  const size_t bytes = sizeof(IRP) + (static_cast<size_t>(stack_size) + 1) * sizeof(IO_STACK_LOCATION);
  auto* irp = static_cast<IRP*>(std::calloc(1, bytes));
  if (irp == nullptr) return nullptr;
  irp->Size = static_cast<USHORT>(bytes);
  irp->StackCount = stack_size;
  ResetIrp(irp, STATUS_SUCCESS);
  world.AddIrp(irp, origin);
  return irp;
}

void ResetIrp(IRP* irp, NTSTATUS status) {
  // IoInitializeIrp wipes the IRP: an I/O manager buffer or MDL still on it
  // would be lost (a leak on Windows); the simulation frees them instead.
  FreeIrpBuffers(irp);
  const UCHAR allocation_flags = irp->AllocationFlags;
  const CHAR stack_count = irp->StackCount;
  const USHORT size = irp->Size;
  memset(irp, 0, size);
  irp->Type = IO_TYPE_IRP;
  irp->Size = size;
  irp->StackCount = stack_count;
  irp->CurrentLocation = static_cast<CHAR>(stack_count + 1);
  irp->Tail.Overlay.CurrentStackLocation = StackBase(irp) + stack_count;
  irp->ThreadListEntry.Flink = irp->ThreadListEntry.Blink = &irp->ThreadListEntry;
  irp->AllocationFlags = allocation_flags;
  irp->IoStatus.Status = status;
}

void FreeIrpMemory(IRP* irp) {
  FreeIrpBuffers(irp);
  std::free(irp);
}

void ReleaseQuarantinedIrp(IRP* irp) {
  ASAN_UNPOISON_MEMORY_REGION(irp, sizeof(IRP));
  ASAN_UNPOISON_MEMORY_REGION(irp, irp->Size);
  std::free(irp);
}

void FreeIrp(World& world, IRP* irp) {
  IrpRecord* record = world.FindIrp(irp);
  if (record != nullptr) {
    world.Log(EventKind::kIrpFreed, Ddi::kNone, 0, record->serial);
    if (record->user_buffer != nullptr) std::free(record->user_buffer);
    record->user_buffer = nullptr;
    record->freed = true;
  }
  if (record == nullptr) {
    FreeIrpMemory(irp);
    return;
  }
  // Quarantined for the rest of the run: no later IRP gets this address, so
  // the record (and a program's or driver's stale pointer) keeps meaning
  // this IRP; AddressSanitizer still reports any touch of it.
  FreeIrpBuffers(irp);
  ASAN_POISON_MEMORY_REGION(irp, irp->Size);
}

IrpRecord& LiveIrp(World& world, const IRP* irp, Ddi ddi) {
  world.RequireNotNull(irp, ddi, "Irp");
  IrpRecord* record = world.FindIrp(irp);
  if (record == nullptr || record->freed) {
    world.Report(RuleId::kIrpDoubleFree, ddi,
                 record
                     ? absl::StrFormat("IRP#%d (%s) was already freed", record->serial, IrpOriginName(record->origin))
                     : std::string("the pointer is not an IRP"),
                 {}, reinterpret_cast<uint64_t>(irp));
  }
  return *record;
}

NTSTATUS CallDriver(World& world, PDEVICE_OBJECT device, IRP* irp, Ddi ddi) {
  if (world.irql() > DISPATCH_LEVEL) {
    world.Report(RuleId::kIoCallDriverIrql, ddi, absl::StrFormat("IoCallDriver at IRQL %d", world.irql()), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  IrpRecord* record = &LiveIrp(world, irp, ddi);
  world.RequireNotNull(device, ddi, "DeviceObject");
  if (IrpFullyCompleted(irp)) {
    world.Report(
        RuleId::kIrpInUse, ddi,
        absl::StrFormat("IRP#%d was sent after its completion finished: the I/O manager owns it", record->serial), {},
        reinterpret_cast<uint64_t>(irp));
  }
  const bool from_creator = irp->CurrentLocation == irp->StackCount + 1;
  IO_STACK_LOCATION* next = IoGetNextIrpStackLocation(irp);
  const UCHAR major = next->MajorFunction;
  if (record->origin == IrpOrigin::kSyncFsd && world.irql() >= DISPATCH_LEVEL && major != IRP_MJ_POWER &&
      major != IRP_MJ_READ && major != IRP_MJ_WRITE && major != IRP_MJ_DEVICE_CONTROL &&
      major != IRP_MJ_INTERNAL_DEVICE_CONTROL) {
    world.Report(RuleId::kForwardedAtBadIrqlFsdSync, ddi,
                 absl::StrFormat("IRP#%d with major 0x%02X sent at IRQL %d", record->serial, major, world.irql()));
  }
  irp->CurrentLocation--;
  if (irp->CurrentLocation <= 0) {
    world.Report(RuleId::kNoMoreStackLocations, ddi,
                 absl::StrFormat("IRP#%d has %d stack locations and none is left", record->serial, irp->StackCount), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  irp->Tail.Overlay.CurrentStackLocation--;
  IO_STACK_LOCATION* location = irp->Tail.Overlay.CurrentStackLocation;
  location->DeviceObject = device;
  const int index = irp->CurrentLocation;
  // A fresh dispatch into this location: what an earlier send of the same
  // IRP marked there does not count.
  if (index >= 1 && index <= 32) record->pending_marked &= ~(1u << (index - 1));
  if (!record->call_frames.empty()) record->call_frames.back() = true;  // the caller's dispatch passed it down
  record->call_frames.push_back(false);
  PDRIVER_DISPATCH dispatch = nullptr;
  if (device->DriverObject != nullptr && major <= IRP_MJ_MAXIMUM_FUNCTION) {
    dispatch = device->DriverObject->MajorFunction[major];
  }
  NTSTATUS status;
  if (dispatch == nullptr) {
    // IopInvalidDeviceRequest.
    irp->IoStatus.Status = status = STATUS_INVALID_DEVICE_REQUEST;
    irp->IoStatus.Information = 0;
    CompleteIrp(world, irp, IO_NO_INCREMENT, ddi);
  } else {
    status = dispatch(device, irp);
  }
  // The IRP may be freed by now: only the record is read.
  record = world.FindIrp(irp);
  if (record == nullptr) return status;
  const bool passed_down = !record->call_frames.empty() && record->call_frames.back();
  if (!record->call_frames.empty()) record->call_frames.pop_back();
  bool marked = index >= 1 && index <= 32 && (record->pending_marked & (1u << (index - 1)));
  if (!record->freed && !IrpFullyCompleted(irp) && irp->CurrentLocation <= index &&
      (location->Control & SL_PENDING_RETURNED)) {
    marked = true;
  }
  if (status == STATUS_PENDING && !marked && !passed_down) {
    world.Report(RuleId::kMarkIrpPending2, ddi,
                 absl::StrFormat("the dispatch routine returned STATUS_PENDING for IRP#%d without IoMarkIrpPending",
                                 record->serial));
  } else if (status != STATUS_PENDING && marked && !passed_down) {
    world.Report(RuleId::kMarkIrpPending, ddi,
                 absl::StrFormat("the dispatch routine marked IRP#%d pending and returned 0x%08X", record->serial,
                                 static_cast<uint32_t>(status)));
  }
  if (from_creator && status == STATUS_PENDING) record->pending_returned = true;
  return status;
}

void CompleteIrp(World& world, IRP* irp, CCHAR priority_boost, Ddi ddi) {
  (void)priority_boost;
  IrpRecord* record = &LiveIrp(world, irp, ddi);
  const uint32_t serial = record->serial;
  if (world.irql() > DISPATCH_LEVEL) {
    world.Report(RuleId::kIoCompleteRequestIrql, ddi, absl::StrFormat("IoCompleteRequest at IRQL %d", world.irql()), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  if (IrpFullyCompleted(irp)) {
    world.Report(RuleId::kMultipleIrpComplete, ddi,
                 absl::StrFormat("IoCompleteRequest on IRP#%d, which is already completed", serial), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  if (irp->CancelRoutine != nullptr) {
    world.Report(RuleId::kCompleteWithCancelRoutine, ddi,
                 absl::StrFormat("IRP#%d completed with its cancel routine still set", serial), {},
                 reinterpret_cast<uint64_t>(irp));
  }
  if (irp->IoStatus.Status == STATUS_PENDING || irp->IoStatus.Status == static_cast<NTSTATUS>(-1)) {
    world.Report(
        RuleId::kCompleteRequestStatusCheck, ddi,
        absl::StrFormat("IRP#%d completed with status 0x%08X", serial, static_cast<uint32_t>(irp->IoStatus.Status)), {},
        reinterpret_cast<uint64_t>(irp));
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
    NotePendingMark(*record, irp, location);
    PIO_COMPLETION_ROUTINE routine = location->CompletionRoutine;
    if (routine != nullptr && ShouldInvoke(*location, *irp)) {
      PVOID context = location->Context;
      ClearStackLocation(*location);
      const bool creator = irp->CurrentLocation == irp->StackCount + 1;
      PDEVICE_OBJECT device = creator ? nullptr : IoGetCurrentIrpStackLocation(irp)->DeviceObject;
      const bool pending_returned = irp->PendingReturned;
      world.Log(EventKind::kIrpCompletionRoutine, ddi, 0, serial);
      // After STATUS_MORE_PROCESSING_REQUIRED the IRP is the routine's: it may
      // be freed already, and nothing here touches it again.
      if (routine(device, irp, context) == STATUS_MORE_PROCESSING_REQUIRED) return;
      record = world.FindIrp(irp);
      if (record == nullptr || record->freed) {
        world.Report(RuleId::kIrpDoubleFree, ddi,
                     absl::StrFormat("a completion routine freed IRP#%d and did not return "
                                     "STATUS_MORE_PROCESSING_REQUIRED",
                                     serial));
      }
      if (creator && (IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED)) {
        world.Report(RuleId::kCreatorMarkedPending, ddi,
                     absl::StrFormat("the creator's completion routine called IoMarkIrpPending on IRP#%d, which has "
                                     "no stack location of its own (pool corruption)",
                                     serial));
      }
      // The routine owns the location above it: it must propagate pending.
      if (pending_returned && !creator && !(IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED)) {
        world.Report(RuleId::kPendingReturnedNotPropagated, ddi,
                     absl::StrFormat("the completion routine saw PendingReturned on IRP#%d and did not call "
                                     "IoMarkIrpPending",
                                     serial));
      }
    } else {
      if (irp->CurrentLocation <= irp->StackCount && irp->PendingReturned) IoMarkIrpPending(irp);
      ClearStackLocation(*location);
    }
  }

  record = world.FindIrp(irp);
  if (record->outcome >= 0) {
    // What the originator receives: the status and information as the walk
    // left them (written back by the APC, or returned by IoCallDriver).
    IoOutcome& outcome = world.io_outcomes()[record->outcome];
    outcome.completions++;
    outcome.status = irp->IoStatus.Status;
    outcome.information = irp->IoStatus.Information;
  }
  for (PMDL mdl = irp->MdlAddress; mdl != nullptr; mdl = mdl->Next) mdl->MdlFlags &= ~MDL_PAGES_LOCKED;
  if ((irp->Flags & IRP_DEFER_IO_COMPLETION) && !irp->PendingReturned) return;
  SimThread* thread = world.FindThread(irp->Tail.Overlay.Thread);
  if (thread == nullptr) {
    if (irp->Cancel && record->origin != IrpOrigin::kFramework) {
      // IopCleanupIrp: a disowned, cancelled IRP is freed with no write-back.
      // (A framework IRP gets here only when its completion routine was lost,
      // e.g. reused while sent: it stays the request's, and is reported below.)
      UnqueueIrpFromThread(irp);
      FreeIrp(world, irp);
      return;
    }
    world.Report(RuleId::kIoAllocateComplete, ddi,
                 absl::StrFormat("IRP#%d (%s) has no thread to finish it", serial, IrpOriginName(record->origin)), {},
                 reinterpret_cast<uint64_t>(irp));
    return;
  }
  if (!record->apc_queued) {
    record->apc_queued = true;
    world.Schedule(
        world.now(), APC_LEVEL, "IopCompleteRequest", [&world, irp] { CompletionApc(world, irp); }, thread);
  }
}

BOOLEAN CancelIrp(World& world, IRP* irp, Ddi ddi) {
  IrpRecord& record = LiveIrp(world, irp, ddi);
  const KIRQL old_irql = world.irql();
  world.SetIrql(DISPATCH_LEVEL);
  world.set_cancel_lock_held(true);
  irp->Cancel = TRUE;
  PDRIVER_CANCEL routine = irp->CancelRoutine;
  irp->CancelRoutine = nullptr;
  if (routine == nullptr) {
    world.set_cancel_lock_held(false);
    world.SetIrql(old_irql);
    return FALSE;
  }
  if (IrpFullyCompleted(irp)) {
    world.Report(RuleId::kCancelStateInCompletedIrp, ddi,
                 absl::StrFormat("IRP#%d is completed and still has a cancel routine", record.serial), {},
                 reinterpret_cast<uint64_t>(irp), reinterpret_cast<uint64_t>(routine));
  }
  irp->CancelIrql = old_irql;
  world.Log(EventKind::kIrpCancelRoutine, ddi, 0, record.serial);
  PDEVICE_OBJECT device =
      irp->CurrentLocation <= irp->StackCount ? IoGetCurrentIrpStackLocation(irp)->DeviceObject : nullptr;
  routine(device, irp);
  if (world.cancel_lock_held()) {
    world.Report(RuleId::kCancelSpinLock, ddi, "the cancel routine returned without releasing the cancel spin lock");
    world.set_cancel_lock_held(false);
  }
  world.SetIrql(old_irql);
  return TRUE;
}

}  // namespace wdfsim::core
