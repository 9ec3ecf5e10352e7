// The per-thread IRP list and thread exit: which IRPs are threaded, list
// order and unlinking, IoReuseIrp on a threaded IRP, and IoCancelThreadIo's
// cancel / retry every 100 ms / disown after 3000 retries
// (SEMANTICS-WDM A.1.5, A.1.6, A.3.3(4); part C case 25).
#include <cstring>

#include "wdfsim/wdf.h"
#include "wdm_fixture.h"

namespace wdfsim_wdm_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::EventKind;
using wdfsim::RuleId;

class WdmThreadTest : public WdmTest {};

constexpr int64_t kRetryInterval = 100 * kMillisecond;
constexpr int64_t kRetries = 3000;

struct Sinks {
  KEVENT ev;
  IO_STATUS_BLOCK iosb;
  Sinks() {
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    iosb = SentinelIosb();
  }
};

PIRP BuildFlush(PDEVICE_OBJECT device, Sinks& s) {
  return IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, device, nullptr, 0, nullptr, &s.ev, &s.iosb);
}

// ---- A.1.5 / A.1.6: which IRPs are threaded ----

TEST_F(WdmThreadTest, A1_6_SyncAndIoctlAreQueuedAtHeadAsyncIsNot) {
  TestDevice d1(1);
  Sinks a, b, c;
  PIRP first = BuildFlush(d1.dev(), a);
  ASSERT_NE(first, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(first, PsGetCurrentThread());
  ASSERT_NE(head, nullptr);

  const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
  PIRP second = IoBuildDeviceIoControlRequest(code, d1.dev(), nullptr, 0, nullptr, 0, FALSE, &b.ev, &b.iosb);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(ListLength(head), 2u);
  EXPECT_EQ(IrpOfEntry(head->Flink), second) << "IoQueueThreadIrp inserts at the head";
  EXPECT_EQ(IrpOfEntry(head->Flink->Flink), first);

  uint8_t buffer[4] = {};
  LARGE_INTEGER offset;
  offset.QuadPart = 0;
  PIRP async = IoBuildAsynchronousFsdRequest(IRP_MJ_WRITE, d1.dev(), buffer, sizeof(buffer), &offset, &c.iosb);
  ASSERT_NE(async, nullptr);
  EXPECT_EQ(async->Tail.Overlay.Thread, PsGetCurrentThread()) << "uncounted thread pointer";
  EXPECT_EQ(async->ThreadListEntry.Flink, &async->ThreadListEntry) << "async FSD IRPs are not threaded";
  EXPECT_EQ(ListLength(head), 2u);

  PIRP allocated = IoAllocateIrp(1, FALSE);
  ASSERT_NE(allocated, nullptr);
  EXPECT_EQ(allocated->Tail.Overlay.Thread, nullptr);
  EXPECT_EQ(ListLength(head), 2u);
  IoFreeIrp(allocated);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmThreadTest, A1_6_CompletionApcUnlinksOnlyItsIrp) {
  TestDevice d1(1);
  Sinks a, b;
  PIRP first = BuildFlush(d1.dev(), a);
  PIRP second = BuildFlush(d1.dev(), b);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(first, PsGetCurrentThread());
  ASSERT_NE(head, nullptr);
  ASSERT_EQ(ListLength(head), 2u);

  ApcHold hold;
  EXPECT_EQ(IoCallDriver(d1.dev(), first), STATUS_SUCCESS);
  EXPECT_EQ(ListLength(head), 2u) << "still queued until the APC runs";
  hold.Release();
  EXPECT_EQ(ListLength(head), 1u);
  EXPECT_EQ(IrpOfEntry(head->Flink), second);
  EXPECT_EQ(KeReadStateEvent(&a.ev), 1);
  EXPECT_EQ(KeReadStateEvent(&b.ev), 0);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmThreadTest, A3_3_IoReuseIrpOnThreadedIrpIsReported) {
  TestDevice d1(1);
  Sinks a;
  PIRP irp = BuildFlush(d1.dev(), a);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoReuseIrp(irp, STATUS_SUCCESS), BugCheck);
  EXPECT_EQ(LastRule(), "IrpFreedOnThreadList");
}

// ---- Case 25: thread exit ----

TEST_F(WdmThreadTest, CaseC25_ThreadExitCancelsPendingIrpAndListDrains) {
  wdfsim::LowerDevice& lower = Lower({PendForever()}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, sim().driver_thread());
  ASSERT_NE(head, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);

  sim().ExitThread(sim().driver_thread());
  ASSERT_EQ(lower.irps().size(), 1u);
  EXPECT_TRUE(lower.irps()[0].cancelled) << "IoCancelIrp was called on the thread's IRP";
  EXPECT_TRUE(lower.irps()[0].completed);
  sim().RunReadyWork();  // the completion APC
  EXPECT_TRUE(ListEmpty(head)) << "the list drained";
  EXPECT_EQ(s.iosb.Status, STATUS_CANCELLED);
  EXPECT_EQ(KeReadStateEvent(&s.ev), 1);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);

  sim().AdvanceTime(kRetries * kRetryInterval + kSecond);
  EXPECT_FALSE(TraceMentions("IO_DRIVER_CANCEL_TIMEOUT"));
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmThreadTest, CaseC25_ThreadExitRetriesEvery100msUntilLowerCompletes) {
  // The lower driver ignores the cancel and completes at 250 ms.
  wdfsim::LowerDevice& lower =
      Lower({Pend(STATUS_SUCCESS, 250 * kMillisecond, 0, wdfsim::LowerAnswer::OnCancel::kIgnore)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, sim().driver_thread());
  ASSERT_NE(head, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);

  sim().ExitThread(sim().driver_thread());
  EXPECT_TRUE(irp->Cancel);
  EXPECT_FALSE(lower.irps()[0].cancelled) << "no cancel routine: the cancel is ignored";
  sim().AdvanceTime(200 * kMillisecond);
  EXPECT_FALSE(ListEmpty(head));
  EXPECT_EQ(irp->Tail.Overlay.Thread, sim().driver_thread());
  sim().AdvanceTime(100 * kMillisecond);
  EXPECT_TRUE(ListEmpty(head));
  EXPECT_EQ(s.iosb.Status, STATUS_SUCCESS) << "completed normally";
  EXPECT_EQ(KeReadStateEvent(&s.ev), 1);
  sim().AdvanceTime(kRetries * kRetryInterval + kSecond);
  EXPECT_FALSE(TraceMentions("IO_DRIVER_CANCEL_TIMEOUT"));
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmThreadTest, CaseC25_NeverCompletedIrpIsDisownedAfterRetryBudgetThenFreedSilently) {
  TestDevice d1(1, DO_BUFFERED_IO, PendWithoutCancelRoutine());
  Sinks s;
  PIRP irp = BuildFlush(d1.dev(), s);
  ASSERT_NE(irp, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, sim().driver_thread());
  ASSERT_NE(head, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);

  sim().ExitThread(sim().driver_thread());
  EXPECT_TRUE(irp->Cancel);
  sim().AdvanceTime(kRetries * kRetryInterval - kRetryInterval);
  EXPECT_EQ(irp->Tail.Overlay.Thread, sim().driver_thread()) << "not yet disowned before the budget";
  EXPECT_FALSE(ListEmpty(head));

  sim().AdvanceTime(kRetryInterval + kMillisecond);
  EXPECT_EQ(irp->Tail.Overlay.Thread, nullptr) << "disowned: Thread = NULL";
  EXPECT_EQ(irp->ThreadListEntry.Flink, &irp->ThreadListEntry);
  EXPECT_TRUE(ListEmpty(head));
  EXPECT_TRUE(TraceMentions("IO_DRIVER_CANCEL_TIMEOUT")) << "error-log entry";

  // The lower driver completes it at last: freed directly, the dead thread's
  // IOSB and event untouched.
  CompleteLater(irp, STATUS_SUCCESS, 7);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u) << "IopCleanupIrp frees at once";
  sim().RunReadyWork();
  EXPECT_TRUE(IosbUntouched(s.iosb));
  EXPECT_EQ(KeReadStateEvent(&s.ev), 0);
  EXPECT_EQ(CountEvents(EventKind::kIrpApc), 0u) << "no completion APC for a disowned IRP";
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmThreadTest, CaseC25_ThreadExitCancelLoopSurvivesApcFreeingAListedIrp) {
  // Two threaded IRPs: B completed inline while the thread is at APC_LEVEL
  // (its completion APC stays queued), A pending below with a cancel routine.
  // The thread exits with both listed; IoCancelThreadIo cancels A, whose
  // completion queues a second APC, and B's APC frees B off the list.
  TestDevice inline_device(1);
  wdfsim::LowerDevice& lower = Lower({PendForever()}, DO_BUFFERED_IO);
  Sinks sb, sa;
  ApcHold hold;
  PIRP b = BuildFlush(inline_device.dev(), sb);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(IoCallDriver(inline_device.dev(), b), STATUS_SUCCESS);
  PIRP a = BuildFlush(lower.device(), sa);
  ASSERT_NE(a, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(a, sim().driver_thread());
  ASSERT_NE(head, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), a), STATUS_PENDING);
  ASSERT_EQ(ListLength(head), 2u);

  // SEMANTICS-WDM A.1.6 / ROS:IoCancelThreadIo snapshots the list and calls
  // IoCancelIrp on every listed IRP at APC_LEVEL, so no completion APC frees
  // an IRP of the list meanwhile (this was a spurious IrpDoubleFree once).
  EXPECT_NO_THROW(sim().ExitThread(sim().driver_thread())) << AllReports();
  EXPECT_TRUE(lower.irps()[0].cancelled);
  hold.Release();
  sim().AdvanceTime(kSecond);
  EXPECT_EQ(KeReadStateEvent(&sb.ev), 1) << "B finished normally";
  EXPECT_EQ(KeReadStateEvent(&sa.ev), 1) << "A finished cancelled";
  EXPECT_TRUE(ListEmpty(head));
  EXPECT_EQ(Count(RuleId::kIrpDoubleFree), 0u) << AllReports();
}

TEST_F(WdmThreadTest, CaseC25_ApplicationThreadExitCancelsPresentedRequestIrp) {
  WDFREQUEST request = nullptr;
  {
    wdfsim::IoRequestSpec spec;
    spec.major_function = IRP_MJ_READ;
    spec.length = 8;
    request = sim().PresentRequest(spec);
  }
  ASSERT_NE(request, nullptr);
  PIRP irp = WdfRequestWdmGetIrp(request);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(irp->Tail.Overlay.Thread, sim().application_thread());
  PLIST_ENTRY head = ThreadListHeadOf(irp, sim().application_thread());
  ASSERT_NE(head, nullptr) << "a user request is threaded on the application thread";

  sim().ExitThread(sim().application_thread());
  EXPECT_TRUE(irp->Cancel);
  WdfRequestComplete(request, STATUS_CANCELLED);
  sim().RunReadyWork();
  EXPECT_TRUE(ListEmpty(head));
  ASSERT_EQ(sim().io_outcomes().size(), 1u);
  EXPECT_TRUE(sim().io_outcomes()[0].completed);
  EXPECT_EQ(sim().io_outcomes()[0].status, STATUS_CANCELLED);
  sim().AdvanceTime(kSecond);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

}  // namespace
}  // namespace wdfsim_wdm_test
