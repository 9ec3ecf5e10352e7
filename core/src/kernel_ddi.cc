// Kernel DDIs: IRQL (SEMANTICS-WDM A.4.3).
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

}  // extern "C"
