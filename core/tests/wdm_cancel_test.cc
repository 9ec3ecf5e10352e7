// Cancellation: IoCancelIrp, IoSetCancelRoutine, cancel routines and the
// cancel spin lock, the cancel/complete race and its canonical resolution,
// bug check 0x48, and completion-routine invocation on cancel
// (SEMANTICS-WDM A.4.1, A.4.2; part C cases 18-22).
#include <cstring>

#include "wdm_fixture.h"

namespace wdfsim_wdm_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::EventKind;
using wdfsim::RuleId;

class WdmCancelTest : public WdmTest {};

// What the cancel routines of this file saw.
struct CancelLog {
  int calls = 0;
  KIRQL irql = 0xFF;
  BOOLEAN cancel = FALSE;
  bool routine_was_null = false;
  KIRQL cancel_irql = 0xFF;
  PDEVICE_OBJECT device = nullptr;
  PIRP owned = nullptr;  // an IRP the deferring routine took ownership of
  bool release_lock = true;
};
CancelLog g_cancel;

// The canonical cancel routine (DDI:DRIVER_CANCEL): release the lock with
// Irp->CancelIrql, then complete with (STATUS_CANCELLED, 0).
VOID CancelAndComplete(PDEVICE_OBJECT device, PIRP irp) {
  g_cancel.calls++;
  g_cancel.irql = KeGetCurrentIrql();
  g_cancel.cancel = irp->Cancel;
  g_cancel.routine_was_null = irp->CancelRoutine == nullptr;
  g_cancel.cancel_irql = irp->CancelIrql;
  g_cancel.device = device;
  if (g_cancel.release_lock) IoReleaseCancelSpinLock(irp->CancelIrql);
  irp->IoStatus.Status = STATUS_CANCELLED;
  irp->IoStatus.Information = 0;
  if (g_cancel.release_lock) IoCompleteRequest(irp, IO_NO_INCREMENT);
}

// A cancel routine that takes the IRP and completes it later (from a DPC of
// its own, here: the test).
VOID CancelDeferred(PDEVICE_OBJECT device, PIRP irp) {
  g_cancel.calls++;
  g_cancel.device = device;
  g_cancel.owned = irp;
  IoReleaseCancelSpinLock(irp->CancelIrql);
}

VOID NoopCancel(PDEVICE_OBJECT, PIRP) {}

// Dispatch: queue the IRP cancelably (mark pending, set the routine, re-check
// Cancel), as KRN:synchronizing-cancellation describes.
DispatchFn QueueCancelable(PDRIVER_CANCEL routine) {
  return [routine](TestDevice&, PIRP irp) {
    IoMarkIrpPending(irp);
    IoSetCancelRoutine(irp, routine);
    if (irp->Cancel && IoSetCancelRoutine(irp, nullptr) != nullptr) {
      irp->IoStatus.Status = STATUS_CANCELLED;
      irp->IoStatus.Information = 0;
      IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
    return STATUS_PENDING;
  };
}

struct SyncRead {
  uint8_t buffer[8];
  KEVENT ev;
  IO_STATUS_BLOCK iosb;
  SyncRead() {
    memset(buffer, 0, sizeof(buffer));
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    iosb = SentinelIosb();
  }
  PIRP Build(PDEVICE_OBJECT device) {
    LARGE_INTEGER offset;
    offset.QuadPart = 0;
    return IoBuildSynchronousFsdRequest(IRP_MJ_READ, device, buffer, sizeof(buffer), &offset, &ev, &iosb);
  }
};

class WdmCancelTestWithLog : public WdmCancelTest {
 protected:
  WdmCancelTestWithLog() { g_cancel = CancelLog{}; }
  ~WdmCancelTestWithLog() override { g_cancel = CancelLog{}; }
};

TEST_F(WdmCancelTestWithLog, CaseC18_CancelWithoutRoutineIsFalseButSetsCancel) {
  TestDevice d1(1, DO_BUFFERED_IO, PendWithoutCancelRoutine());
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);

  EXPECT_FALSE(IoCancelIrp(irp));
  EXPECT_TRUE(irp->Cancel);
  EXPECT_FALSE(IoCancelIrp(irp)) << "a repeat is FALSE again";
  EXPECT_TRUE(irp->Cancel);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  // The device finishes the IRP on its own.
  CompleteLater(irp, STATUS_SUCCESS, 2);
  EXPECT_EQ(WaitFor(&r.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, CaseC19_CancelWithRoutineRunsItOnceUnderTheLock) {
  TestDevice d1(1, DO_BUFFERED_IO, QueueCancelable(CancelAndComplete));
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
  ASSERT_EQ(irp->CancelRoutine, CancelAndComplete);

  ApcHold hold;  // the cancel routine's completion APC waits
  EXPECT_TRUE(IoCancelIrp(irp));

  EXPECT_EQ(g_cancel.calls, 1);
  EXPECT_EQ(g_cancel.irql, DISPATCH_LEVEL) << "entered at DISPATCH_LEVEL holding the cancel lock";
  EXPECT_TRUE(g_cancel.cancel) << "sees Cancel TRUE";
  EXPECT_TRUE(g_cancel.routine_was_null) << "sees CancelRoutine NULL";
  EXPECT_EQ(g_cancel.cancel_irql, APC_LEVEL) << "CancelIrql = the IRQL IoCancelIrp was called at";
  EXPECT_EQ(g_cancel.device, d1.dev()) << "the current location's DeviceObject";
  EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL) << "restored to the caller's IRQL";
  EXPECT_EQ(Count(RuleId::kCancelSpinLock), 0u) << "the routine held the lock it released";

  // The APC has not run: the IRP is still allocated.
  EXPECT_FALSE(IoCancelIrp(irp)) << "second IoCancelIrp";
  EXPECT_EQ(g_cancel.calls, 1) << "the routine is not re-run";

  hold.Release();
  EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
  EXPECT_EQ(r.iosb.Information, 0u);
  EXPECT_EQ(KeReadStateEvent(&r.ev), 1) << "pended, so the error is written back";
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, CaseC20_CancelRoutineOnCompletedIrpThenCancelIs0x48) {
  TestDevice d1(1, DO_BUFFERED_IO, CompleteInline(STATUS_SUCCESS, 0));
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ApcHold hold;
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  ASSERT_EQ(irp->CurrentLocation, irp->StackCount + 2) << "completed (APC not yet run)";

  EXPECT_EQ(IoSetCancelRoutine(irp, NoopCancel), nullptr);
  EXPECT_THROW(IoCancelIrp(irp), BugCheck);
  EXPECT_EQ(LastRule(), "CancelStateInCompletedIrp");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0x48u);
  // P1 = IRP, P2 = cancel routine (Report keeps varying parameters in p2/p3).
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(irp));
  EXPECT_EQ(reports().back().p3, reinterpret_cast<uint64_t>(&NoopCancel));
}

TEST_F(WdmCancelTestWithLog, CaseC21_DequeueGetsNullWhileCancelledMustNotComplete) {
  TestDevice d1(1, DO_BUFFERED_IO, QueueCancelable(CancelDeferred));
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);

  EXPECT_TRUE(IoCancelIrp(irp));
  ASSERT_EQ(g_cancel.owned, irp) << "the cancel routine owns the IRP now";

  // The driver's dequeue path (its DPC) races in after IoCancelIrp took the routine.
  EXPECT_EQ(IoSetCancelRoutine(irp, nullptr), nullptr);
  EXPECT_TRUE(irp->Cancel);
  // Correct driver: NULL means the cancel side completes; the dequeue side does not.
  CompleteLater(g_cancel.owned, STATUS_CANCELLED, 0);
  EXPECT_EQ(WaitFor(&r.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, CaseC21_DequeueCompletesAnywayAndCancelSideCompletesIs0x44) {
  TestDevice d1(1, DO_BUFFERED_IO, QueueCancelable(CancelDeferred));
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(irp));

  EXPECT_EQ(IoSetCancelRoutine(irp, nullptr), nullptr);
  // Buggy dequeue side: completes although the routine was already gone.
  ApcHold hold;  // (with the APC run first, the second completion is a use after free)
  CompleteLater(irp, STATUS_SUCCESS, 8);
  // The cancel side completes too (before the completion APC ran).
  EXPECT_THROW(CompleteLater(g_cancel.owned, STATUS_CANCELLED, 0), BugCheck);
  EXPECT_EQ(LastRule(), "DoubleIrpCompletion");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0x44u);
}

TEST_F(WdmCancelTestWithLog, CaseC22_InvokeFlagsOnCancelledIrp) {
  struct Combo {
    bool success, error, cancel, called;
  };
  const Combo combos[] = {
      {true, false, true, true},    // (S,!E,C) -> called through InvokeOnCancel
      {true, true, false, true},    // (S,E,!C) -> called: STATUS_CANCELLED is an error
      {true, false, false, false},  // (S,!E,!C) -> not called
  };
  for (const Combo& c : combos) {
    Start();
    g_cancel = CancelLog{};
    TestDevice d1(1, DO_BUFFERED_IO, QueueCancelable(CancelAndComplete));
    SyncRead r;
    PIRP irp = r.Build(d1.dev());
    ASSERT_NE(irp, nullptr);
    CompletionProbe probe;
    IoSetCompletionRoutine(irp, ProbeCompletion, &probe, c.success, c.error, c.cancel);
    ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
    EXPECT_TRUE(IoCancelIrp(irp));
    EXPECT_EQ(probe.calls, c.called ? 1 : 0) << "S=" << c.success << " E=" << c.error << " C=" << c.cancel;
    if (c.called) {
      EXPECT_EQ(probe.status, STATUS_CANCELLED);
      EXPECT_TRUE(probe.cancel);
    }
    sim().RunReadyWork();
    EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
    EXPECT_TRUE(reports().empty()) << AllReports();
  }
}

// ---- A.4.1 details ----

TEST_F(WdmCancelTestWithLog, A4_1_SetCancelRoutineReturnsPreviousAndNullAfterCancel) {
  TestDevice d1(1, DO_BUFFERED_IO, PendWithoutCancelRoutine());
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
  EXPECT_EQ(IoSetCancelRoutine(irp, CancelDeferred), nullptr);
  EXPECT_EQ(IoSetCancelRoutine(irp, CancelDeferred), CancelDeferred);
  EXPECT_TRUE(IoCancelIrp(irp));
  EXPECT_EQ(g_cancel.calls, 1);
  EXPECT_EQ(IoSetCancelRoutine(irp, nullptr), nullptr) << "cancellation already in progress";
  CompleteLater(irp, STATUS_CANCELLED, 0);
  sim().RunReadyWork();
  EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, A4_1_CancelRoutineThatKeepsTheLockIsCancelSpinLock) {
  g_cancel.release_lock = false;  // CancelAndComplete then neither releases nor completes
  TestDevice d1(1, DO_BUFFERED_IO, QueueCancelable(CancelAndComplete));
  SyncRead r;
  PIRP irp = r.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(irp));
  EXPECT_EQ(Count(RuleId::kCancelSpinLock), 1u) << AllReports();
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

TEST_F(WdmCancelTestWithLog, A4_1_CancelSpinLockRaisesToDispatchAndReleaseUnheldIsReported) {
  KIRQL old = 0xFF;
  IoAcquireCancelSpinLock(&old);
  EXPECT_EQ(old, PASSIVE_LEVEL);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  IoReleaseCancelSpinLock(old);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
  EXPECT_TRUE(reports().empty());
  IoReleaseCancelSpinLock(PASSIVE_LEVEL);
  EXPECT_EQ(Count(RuleId::kCancelSpinLock), 1u);
}

TEST_F(WdmCancelTestWithLog, A4_1_ScriptedLowerHonoursCancelWithStatusCancelled) {
  wdfsim::LowerDevice& lower = Lower({PendForever()}, DO_BUFFERED_IO);
  SyncRead r;
  PIRP irp = r.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(irp));
  ASSERT_EQ(lower.irps().size(), 1u);
  EXPECT_TRUE(lower.irps()[0].cancelled);
  EXPECT_TRUE(lower.irps()[0].completed);
  EXPECT_EQ(WaitFor(&r.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// ---- A.4.2: the cancel/complete race, both interleavings ----

// The lower device's completion is ready at the moment the creator calls
// IoCancelIrp; the ChoiceSource decides at IoCancelIrp's scheduling point
// whether it runs first.
TEST_F(WdmCancelTestWithLog, A4_2_RaceCancelFirstCompletesOnceAsCancelled) {
  StartScripted({0});  // IoCancelIrp's scheduling point: do not run the ready completion
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 0, 8)}, DO_BUFFERED_IO);
  SyncRead r;
  PIRP irp = r.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_TRUE(IoCancelIrp(irp));
  EXPECT_EQ(WaitFor(&r.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Status, STATUS_CANCELLED);
  EXPECT_TRUE(lower.irps()[0].cancelled);
  EXPECT_EQ(Count(RuleId::kMultipleIrpComplete), 0u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, A4_2_RaceCompletionFirstCancelFindsNoRoutine) {
  // 1: at IoCancelIrp's scheduling point the lower completion runs first;
  // 0: the completion APC it queued does not run yet.
  StartScripted({1, 0});
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 0, 8)}, DO_BUFFERED_IO);
  SyncRead r;
  PIRP irp = r.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_FALSE(IoCancelIrp(irp)) << "the dequeue side took the cancel routine away";
  EXPECT_EQ(WaitFor(&r.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(r.iosb.Information, 8u);
  EXPECT_FALSE(lower.irps()[0].cancelled);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmCancelTestWithLog, A4_2_CancelAfterApcFreedTheIrpIsUseAfterFree) {
  // Both the lower completion and its APC run before IoCancelIrp: the
  // creator cancels an IRP the I/O manager already freed (why KRN:cheat
  // scenario 7 keeps the IRP with a completion routine returning MPR).
  StartScripted({1, 1});
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 0, 8)}, DO_BUFFERED_IO);
  SyncRead r;
  PIRP irp = r.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_THROW(IoCancelIrp(irp), BugCheck);
  EXPECT_EQ(LastRule(), "IrpDoubleFree");
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
}

}  // namespace
}  // namespace wdfsim_wdm_test
