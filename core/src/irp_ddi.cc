// The I/O manager's IRP DDIs: allocation and free, the three builders,
// IoCallDriver, IoCompleteRequest, cancellation and MDLs
// (SEMANTICS-WDM A.1-A.4).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "irp.h"
#include "thread.h"
#include "world.h"

using wdfsim::RuleId;
using wdfsim::core::Ddi;
using wdfsim::core::IrpOrigin;
using wdfsim::core::IrpRecord;
using wdfsim::core::World;

namespace {

PMDL NewMdl(PVOID address, ULONG length) {
  auto* mdl = static_cast<PMDL>(std::calloc(1, sizeof(MDL)));
  if (mdl == nullptr) return nullptr;
  mdl->Size = sizeof(MDL);
  mdl->StartVa = address;
  mdl->MappedSystemVa = address;
  mdl->ByteCount = length;
  return mdl;
}

// An injected allocation failure, when the simulation asks for them.
bool AllocationFails(World& w) {
  return w.options().inject_allocation_failures && w.Choose(2, wdfsim::ChoiceKind::kAllocation) == 1;
}

// The common part of the builders: an IRP sized to the target's stack, for
// the current thread, with the major in the next (the target's) location.
IRP* NewBuilderIrp(World& w, PDEVICE_OBJECT device, UCHAR major, IrpOrigin origin, Ddi ddi) {
  w.RequireNotNull(device, ddi, "DeviceObject");
  if (AllocationFails(w)) return nullptr;
  IRP* irp = wdfsim::core::AllocateIrp(w, device->StackSize, origin);
  if (irp == nullptr) return nullptr;
  irp->Tail.Overlay.Thread = w.current_thread();
  irp->RequestorMode = KernelMode;
  IoGetNextIrpStackLocation(irp)->MajorFunction = major;
  return irp;
}

// Buffer handling of the FSD builders, by the target's flags (A.1.2).
bool SetUpFsdBuffer(World& w, IRP* irp, PDEVICE_OBJECT device, UCHAR major, PVOID buffer, ULONG length) {
  if (major == IRP_MJ_FLUSH_BUFFERS || major == IRP_MJ_SHUTDOWN || major == IRP_MJ_PNP || major == IRP_MJ_POWER) {
    return true;
  }
  IrpRecord& record = *w.FindIrp(irp);
  if (device->Flags & DO_BUFFERED_IO) {
    if (AllocationFails(w)) return false;
    irp->AssociatedIrp.SystemBuffer = std::calloc(1, std::max<ULONG>(length, 1));
    record.system_buffer_length = length;
    irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    if (major == IRP_MJ_WRITE) {
      if (buffer != nullptr && length > 0) memcpy(irp->AssociatedIrp.SystemBuffer, buffer, length);
    } else {
      irp->Flags |= IRP_INPUT_OPERATION;
      irp->UserBuffer = buffer;
      record.user_buffer_length = length;
    }
  } else if (device->Flags & DO_DIRECT_IO) {
    if (AllocationFails(w)) return false;
    irp->MdlAddress = NewMdl(buffer, length);
    irp->MdlAddress->MdlFlags |= MDL_PAGES_LOCKED;  // MmProbeAndLockPages
  } else {
    irp->UserBuffer = buffer;
  }
  return true;
}

PIRP BuildFsd(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
              PLARGE_INTEGER StartingOffset, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock, bool synchronous) {
  World& w = World::Current();
  const Ddi ddi = synchronous ? Ddi::kIoBuildSynchronousFsdRequest : Ddi::kIoBuildAsynchronousFsdRequest;
  w.EnterDdi(ddi);
  if (w.irql() > APC_LEVEL) {
    w.Report(RuleId::kIrqlIoApcLte, ddi, absl::StrFormat("called at IRQL %d", w.irql()));
  }
  const UCHAR major = static_cast<UCHAR>(MajorFunction);
  IRP* irp = NewBuilderIrp(w, DeviceObject, major, synchronous ? IrpOrigin::kSyncFsd : IrpOrigin::kAsyncFsd, ddi);
  if (irp == nullptr) return nullptr;
  if (!SetUpFsdBuffer(w, irp, DeviceObject, major, Buffer, Length)) {
    wdfsim::core::FreeIrp(w, irp);
    return nullptr;
  }
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  if (major == IRP_MJ_READ || major == IRP_MJ_WRITE) {
    next->Parameters.Read.Length = Length;
    next->Parameters.Read.ByteOffset.QuadPart = StartingOffset != nullptr ? StartingOffset->QuadPart : 0;
  }
  irp->UserIosb = IoStatusBlock;
  IrpRecord& record = *w.FindIrp(irp);
  record.user_iosb = IoStatusBlock;
  if (synchronous) {
    irp->UserEvent = Event;
    record.user_event = Event;
    wdfsim::core::QueueIrpToThread(*w.current_thread(), irp);
  }
  return irp;
}

}  // namespace

extern "C" {

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota) {
  (void)ChargeQuota;
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoAllocateIrp);
  if (AllocationFails(w) || StackSize < 1) return nullptr;
  return wdfsim::core::AllocateIrp(w, StackSize, IrpOrigin::kAllocated);
}

VOID IoFreeIrp(PIRP Irp) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoFreeIrp);
  w.RequireNotNull(Irp, Ddi::kIoFreeIrp, "Irp");
  IrpRecord* record = w.FindIrp(Irp);
  if (record != nullptr && (record->origin == IrpOrigin::kSyncFsd || record->origin == IrpOrigin::kDeviceControl)) {
    w.Report(RuleId::kIoBuildSynchronousFsdRequestNoFree, Ddi::kIoFreeIrp,
             absl::StrFormat("IoFreeIrp on IRP#%d from %s%s", record->serial, IrpOriginName(record->origin),
                             record->freed ? ", which the I/O manager already freed" : ""),
             {}, reinterpret_cast<uint64_t>(Irp));
  }
  wdfsim::core::LiveIrp(w, Irp, Ddi::kIoFreeIrp);
  if (wdfsim::core::IrpOnThreadList(Irp)) {
    w.Report(RuleId::kIrpFreedOnThreadList, Ddi::kIoFreeIrp,
             absl::StrFormat("IRP#%d is still queued to a thread", record->serial), {},
             reinterpret_cast<uint64_t>(Irp));
  }
  if (!wdfsim::core::IrpAtCreator(Irp)) {
    w.Report(RuleId::kIrpInUse, Ddi::kIoFreeIrp,
             absl::StrFormat("IoFreeIrp on IRP#%d at stack location %d of %d", record->serial, Irp->CurrentLocation,
                             Irp->StackCount),
             {}, reinterpret_cast<uint64_t>(Irp));
  }
  wdfsim::core::FreeIrp(w, Irp);
}

VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoReuseIrp);
  IrpRecord& record = wdfsim::core::LiveIrp(w, Irp, Ddi::kIoReuseIrp);
  if (!wdfsim::core::IrpAtCreator(Irp)) {
    w.Report(RuleId::kIrpInUse, Ddi::kIoReuseIrp,
             absl::StrFormat("IoReuseIrp on IRP#%d at stack location %d of %d", record.serial, Irp->CurrentLocation,
                             Irp->StackCount),
             {}, reinterpret_cast<uint64_t>(Irp));
  }
  if (wdfsim::core::IrpOnThreadList(Irp)) {
    w.Report(RuleId::kIrpFreedOnThreadList, Ddi::kIoReuseIrp,
             absl::StrFormat("IoReuseIrp on IRP#%d, which is still queued to a thread", record.serial), {},
             reinterpret_cast<uint64_t>(Irp));
  }
  record.pending_marked = 0;
  record.apc_queued = false;
  wdfsim::core::ResetIrp(Irp, Iostatus);
}

PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
                                  PLARGE_INTEGER StartingOffset, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
  return BuildFsd(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, Event, IoStatusBlock, true);
}

PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer, ULONG Length,
                                   PLARGE_INTEGER StartingOffset, PIO_STATUS_BLOCK IoStatusBlock) {
  return BuildFsd(MajorFunction, DeviceObject, Buffer, Length, StartingOffset, nullptr, IoStatusBlock, false);
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                   ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
                                   BOOLEAN InternalDeviceIoControl, PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock) {
  World& w = World::Current();
  const Ddi ddi = Ddi::kIoBuildDeviceIoControlRequest;
  w.EnterDdi(ddi);
  if (w.irql() > APC_LEVEL) w.Report(RuleId::kIrqlIoPassive1, ddi, absl::StrFormat("called at IRQL %d", w.irql()));
  const UCHAR major = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
  IRP* irp = NewBuilderIrp(w, DeviceObject, major, IrpOrigin::kDeviceControl, ddi);
  if (irp == nullptr) return nullptr;
  IrpRecord& record = *w.FindIrp(irp);
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
  next->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
  next->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
  const ULONG method = METHOD_FROM_CTL_CODE(IoControlCode);
  if (method == METHOD_NEITHER) {
    next->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
    irp->UserBuffer = OutputBuffer;
  } else {
    const ULONG system_length =
        method == METHOD_BUFFERED ? std::max(InputBufferLength, OutputBufferLength) : InputBufferLength;
    if (system_length > 0) {
      if (AllocationFails(w)) {
        wdfsim::core::FreeIrp(w, irp);
        return nullptr;
      }
      irp->AssociatedIrp.SystemBuffer = std::calloc(1, system_length);
      record.system_buffer_length = system_length;
      if (InputBuffer != nullptr && InputBufferLength > 0) {
        memcpy(irp->AssociatedIrp.SystemBuffer, InputBuffer, InputBufferLength);
      }
      irp->Flags = IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    }
    if (method == METHOD_BUFFERED) {
      if (OutputBuffer != nullptr && OutputBufferLength > 0) irp->Flags |= IRP_INPUT_OPERATION;
      irp->UserBuffer = OutputBuffer;
      record.user_buffer_length = OutputBufferLength;
    } else if (OutputBuffer != nullptr && OutputBufferLength > 0) {
      irp->MdlAddress = NewMdl(OutputBuffer, OutputBufferLength);
      irp->MdlAddress->MdlFlags |= MDL_PAGES_LOCKED;
    }
  }
  irp->UserIosb = IoStatusBlock;
  irp->UserEvent = Event;
  record.user_iosb = IoStatusBlock;
  record.user_event = Event;
  wdfsim::core::QueueIrpToThread(*w.current_thread(), irp);
  return irp;
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoCallDriver);
  return wdfsim::core::CallDriver(w, DeviceObject, Irp, Ddi::kIoCallDriver);
}

VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoCompleteRequest);
  wdfsim::core::CompleteIrp(w, Irp, PriorityBoost, Ddi::kIoCompleteRequest);
}

BOOLEAN IoCancelIrp(PIRP Irp) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoCancelIrp);
  return wdfsim::core::CancelIrp(w, Irp, Ddi::kIoCancelIrp);
}

PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoSetCancelRoutine);
  wdfsim::core::LiveIrp(w, Irp, Ddi::kIoSetCancelRoutine);
  PDRIVER_CANCEL old = Irp->CancelRoutine;
  Irp->CancelRoutine = CancelRoutine;
  return old;
}

VOID IoAcquireCancelSpinLock(PKIRQL Irql) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoAcquireCancelSpinLock);
  w.RequireNotNull(Irql, Ddi::kIoAcquireCancelSpinLock, "Irql");
  if (w.cancel_lock_held()) {
    w.Report(RuleId::kLiveness, Ddi::kIoAcquireCancelSpinLock,
             "the cancel spin lock is acquired again while held: the processor spins forever");
  }
  *Irql = w.irql();
  w.SetIrql(DISPATCH_LEVEL);
  w.set_cancel_lock_held(true);
}

VOID IoReleaseCancelSpinLock(KIRQL Irql) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoReleaseCancelSpinLock);
  if (!w.cancel_lock_held()) {
    w.Report(RuleId::kCancelSpinLock, Ddi::kIoReleaseCancelSpinLock, "the cancel spin lock is released but not held");
  }
  w.set_cancel_lock_held(false);
  w.SetIrql(Irql);
}

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota, PIRP Irp) {
  (void)ChargeQuota;
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoAllocateMdl);
  if (AllocationFails(w)) return nullptr;
  PMDL mdl = NewMdl(VirtualAddress, Length);
  if (Irp != nullptr && mdl != nullptr) {
    wdfsim::core::LiveIrp(w, Irp, Ddi::kIoAllocateMdl);
    if (!SecondaryBuffer || Irp->MdlAddress == nullptr) {
      Irp->MdlAddress = mdl;
    } else {
      PMDL last = Irp->MdlAddress;
      while (last->Next != nullptr) last = last->Next;
      last->Next = mdl;
    }
  }
  return mdl;
}

VOID IoFreeMdl(PMDL Mdl) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoFreeMdl);
  w.RequireNotNull(Mdl, Ddi::kIoFreeMdl, "Mdl");
  if (Mdl->MdlFlags & MDL_PAGES_LOCKED) {
    w.Report(RuleId::kMdlFreedLocked, Ddi::kIoFreeMdl, "the MDL's pages are still locked");
  }
  std::free(Mdl);
}

VOID MmUnlockPages(PMDL MemoryDescriptorList) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kMmUnlockPages);
  w.RequireNotNull(MemoryDescriptorList, Ddi::kMmUnlockPages, "MemoryDescriptorList");
  MemoryDescriptorList->MdlFlags &= ~MDL_PAGES_LOCKED;
}

}  // extern "C"
