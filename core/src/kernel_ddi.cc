// Kernel and I/O manager DDIs: IRQL and IoCompleteRequest (SEMANTICS-WDM A.3, A.4.3).
#include "irp.h"
#include "world.h"

using wdfsim::core::Ddi;
using wdfsim::core::World;

extern "C" {

KIRQL KeGetCurrentIrql(VOID) { return World::Current().irql(); }

VOID KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeRaiseIrql);
  *OldIrql = w.irql();
  w.SetIrql(NewIrql);
}

VOID KeLowerIrql(KIRQL NewIrql) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kKeLowerIrql);
  w.SetIrql(NewIrql);
}

VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
  World& w = World::Current();
  w.EnterDdi(Ddi::kIoCompleteRequest);
  wdfsim::core::CompleteIrp(w, Irp, PriorityBoost, Ddi::kIoCompleteRequest);
}

}  // extern "C"
