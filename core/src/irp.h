// The IRP's life in the I/O manager: allocation with its stack locations,
// IoCallDriver, IoCompleteRequest's stack walk, the completion APC that
// writes back the result on the issuing thread, cancellation, and the free
// (SEMANTICS-WDM A.0-A.4).
#ifndef WDFSIM_CORE_IRP_H_
#define WDFSIM_CORE_IRP_H_

#include "ddi.h"
#include "wdfsim/wdm.h"

namespace wdfsim::core {

class World;
struct IrpRecord;
enum class IrpOrigin : uint8_t;

// IoAllocateIrp: a zeroed IRP with `stack_size` locations, CurrentLocation =
// stack_size + 1, and an empty thread list entry.
IRP* AllocateIrp(World& world, CCHAR stack_size, IrpOrigin origin);
// IoInitializeIrp's reset, keeping the allocation (IoReuseIrp).
void ResetIrp(IRP* irp, NTSTATUS status);
// Frees the IRP, its I/O manager buffer and MDLs; no bookkeeping.
void FreeIrpMemory(IRP* irp);
// Frees a quarantined IRP's block (the World's teardown).
void ReleaseQuarantinedIrp(IRP* irp);
// IoFreeIrp's bookkeeping and free: the record stays as a tombstone and the
// IRP's memory is quarantined (poisoned, never reused) until the World ends.
void FreeIrp(World& world, IRP* irp);
// IofCallDriver (SEMANTICS-WDM A.2), with the MarkIrpPending checks.
NTSTATUS CallDriver(World& world, PDEVICE_OBJECT device, IRP* irp, Ddi ddi);
// IofCompleteRequest (ReactOS IofCompleteRequest, SEMANTICS-WDM A.3.1).
void CompleteIrp(World& world, IRP* irp, CCHAR priority_boost, Ddi ddi);
// IoCancelIrp (SEMANTICS-WDM A.4.1).
BOOLEAN CancelIrp(World& world, IRP* irp, Ddi ddi);
// IoSetCancelRoutine's exchange, for the framework's own use: no DDI entry,
// so no scheduling point inside framework code that holds its locks.
inline PDRIVER_CANCEL ExchangeCancelRoutine(IRP* irp, PDRIVER_CANCEL routine) {
  PDRIVER_CANCEL old = irp->CancelRoutine;
  irp->CancelRoutine = routine;
  return old;
}
// KeSetEvent's effect, shared with the completion APC.
LONG SignalEvent(World& world, PKEVENT event);
// The live record of `irp`: a freed or unknown IRP is reported (IrpDoubleFree).
IrpRecord& LiveIrp(World& world, const IRP* irp, Ddi ddi);
// True while the IRP's creator holds it: never sent, or given back by the
// walk (its own completion routine returned STATUS_MORE_PROCESSING_REQUIRED).
inline bool IrpAtCreator(const IRP* irp) { return irp->CurrentLocation == irp->StackCount + 1; }
// True once the walk has passed the top location (CurrentLocation == StackCount + 2).
inline bool IrpFullyCompleted(const IRP* irp) { return irp->CurrentLocation > irp->StackCount + 1; }

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_IRP_H_
