// The IRP's life in the I/O manager: allocation with its stack locations,
// IoCompleteRequest's stack walk, the completion APC that writes back the
// result on the issuing thread, and the free (SEMANTICS-WDM A.0, A.3).
#ifndef WDFSIM_CORE_IRP_H_
#define WDFSIM_CORE_IRP_H_

#include "ddi.h"
#include "wdfsim/wdm.h"

namespace wdfsim::core {

class World;
enum class IrpOrigin : uint8_t;

// IoAllocateIrp: a zeroed IRP with `stack_size` locations, CurrentLocation =
// stack_size + 1, and an empty thread list entry.
IRP* AllocateIrp(World& world, CCHAR stack_size, IrpOrigin origin);
// Frees the IRP, its I/O manager buffer and MDLs; no bookkeeping.
void FreeIrpMemory(IRP* irp);
// IoFreeIrp's bookkeeping and free.
void FreeIrp(World& world, IRP* irp);
// IofCompleteRequest (ReactOS IofCompleteRequest, SEMANTICS-WDM A.3.1).
void CompleteIrp(World& world, IRP* irp, CCHAR priority_boost, Ddi ddi);
// True once the walk has passed the top location (CurrentLocation == StackCount + 2).
inline bool IrpFullyCompleted(const IRP* irp) { return irp->CurrentLocation > irp->StackCount + 1; }

}  // namespace wdfsim::core

#endif  // WDFSIM_CORE_IRP_H_
