// Events and KeWaitForSingleObject on the virtual clock: event state, relative
// / absolute / zero / no timeouts, waits satisfied by scheduled work, the
// Liveness report for a wait nothing can satisfy, the creator-side
// timeout-cancel-wait-again pattern, and the IRQL rules of A.4.3
// (SEMANTICS-WDM A.2, A.4.2, A.4.3; part C cases 29 and 30).
#include <cstring>

#include "wdfsim/wdf.h"
#include "wdm_fixture.h"

namespace wdfsim_wdm_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::EventKind;
using wdfsim::RuleId;
using wdfsim::Severity;

class WdmWaitTest : public WdmTest {};

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
PIRP BuildRead(PDEVICE_OBJECT device, Sinks& s, uint8_t* buffer, ULONG length) {
  LARGE_INTEGER offset;
  offset.QuadPart = 0;
  return IoBuildSynchronousFsdRequest(IRP_MJ_READ, device, buffer, length, &offset, &s.ev, &s.iosb);
}

// ---- Events ----

TEST_F(WdmWaitTest, Events_InitSetResetClearReadState) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  EXPECT_EQ(KeReadStateEvent(&ev), 0);
  EXPECT_EQ(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), 0) << "previous state";
  EXPECT_EQ(KeReadStateEvent(&ev), 1);
  EXPECT_EQ(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), 1);
  EXPECT_EQ(KeResetEvent(&ev), 1) << "previous state";
  EXPECT_EQ(KeReadStateEvent(&ev), 0);
  KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
  KeClearEvent(&ev);
  EXPECT_EQ(KeReadStateEvent(&ev), 0);
  KEVENT signalled;
  KeInitializeEvent(&signalled, SynchronizationEvent, TRUE);
  EXPECT_EQ(KeReadStateEvent(&signalled), 1);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, Wait_SignalledNotificationEventStaysSignalledSynchronizationAutoResets) {
  KEVENT notification, synchronization;
  KeInitializeEvent(&notification, NotificationEvent, TRUE);
  KeInitializeEvent(&synchronization, SynchronizationEvent, TRUE);
  EXPECT_EQ(WaitFor(&notification, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateEvent(&notification), 1);
  EXPECT_EQ(WaitFor(&synchronization, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateEvent(&synchronization), 0) << "a synchronization event satisfies one wait";
  EXPECT_EQ(sim().now(), 0) << "no time passed";
  EXPECT_EQ(WaitFor(&synchronization, 5 * kMillisecond), STATUS_TIMEOUT);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// ---- Timeouts on the virtual clock ----

TEST_F(WdmWaitTest, Wait_RelativeTimeoutAdvancesClockExactly) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  sim().AdvanceTime(3 * kMillisecond);
  EXPECT_EQ(WaitFor(&ev, 10 * kMillisecond), STATUS_TIMEOUT);
  EXPECT_EQ(sim().now(), 13 * kMillisecond);
  EXPECT_EQ(KeReadStateEvent(&ev), 0);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, Wait_AbsoluteTimeoutIsSystemTime) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  LARGE_INTEGER now;
  KeQuerySystemTime(&now);
  LARGE_INTEGER deadline;
  deadline.QuadPart = now.QuadPart + 5 * kMillisecond;  // positive = absolute
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &deadline), STATUS_TIMEOUT);
  EXPECT_EQ(sim().now(), 5 * kMillisecond);
  LARGE_INTEGER later;
  KeQuerySystemTime(&later);
  EXPECT_EQ(later.QuadPart - now.QuadPart, 5 * kMillisecond);
}

TEST_F(WdmWaitTest, Wait_ZeroTimeoutPollsWithoutTime) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
  EXPECT_EQ(sim().now(), 0);
  KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
}

TEST_F(WdmWaitTest, Wait_SatisfiedByScheduledCompletionAtItsTime) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 30 * kMillisecond)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_EQ(WaitFor(&s.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(sim().now(), 30 * kMillisecond) << "the wait ends when the completion APC signals";
  EXPECT_EQ(s.iosb.Status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, InlineCompletionAtPassiveFinishesBeforeIoCallDriverReturns) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_SUCCESS, 0)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_SUCCESS);
  // The APC was queued to the running thread at PASSIVE_LEVEL: delivered at once.
  EXPECT_EQ(KeReadStateEvent(&s.ev), 1);
  EXPECT_EQ(s.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_EQ(WaitFor(&s.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(sim().now(), 0);
}

TEST_F(WdmWaitTest, InlineCompletionAtApcLevelFinishesWhenIrqlDrops) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_SUCCESS, 0)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_SUCCESS);
  EXPECT_EQ(KeReadStateEvent(&s.ev), 0) << "a special kernel APC waits below APC_LEVEL";
  EXPECT_TRUE(IosbUntouched(s.iosb));
  KeLowerIrql(old);
  EXPECT_EQ(KeReadStateEvent(&s.ev), 1) << "delivered by KeLowerIrql";
  EXPECT_EQ(s.iosb.Status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// ---- Liveness ----

TEST_F(WdmWaitTest, Liveness_WaitWithNoTimeoutNobodySatisfiesIsReported) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  EXPECT_THROW(WaitForever(&ev), BugCheck);
  EXPECT_EQ(LastRule(), "Liveness");
  EXPECT_EQ(reports().back().rule_info().severity, Severity::kBugCheck);
}

TEST_F(WdmWaitTest, Liveness_BuilderIrpPendingForeverNoTimeout) {
  wdfsim::LowerDevice& lower = Lower({PendForever()}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_THROW(WaitForever(&s.ev), BugCheck);
  EXPECT_TRUE(Reported("IoBuildSynchronousFsdRequestWaitTimeout")) << "the lint names the hang risk";
  EXPECT_EQ(LastRule(), "Liveness");
}

TEST_F(WdmWaitTest, Liveness_StepBudgetEndsAWaitThatWorkKeepsFeeding) {
  // The application thread exits with an IRP nobody completes: IoCancelThreadIo
  // retries every 100 ms, so there is always future work, but none sets the event.
  wdfsim::SimulationOptions options;
  options.step_budget = 20;
  Start(options);
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 4;
  ASSERT_NE(sim().PresentRequest(spec), nullptr);
  sim().ExitThread(sim().application_thread());
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  EXPECT_THROW(WaitForever(&ev), BugCheck);
  EXPECT_EQ(LastRule(), "Liveness");
  EXPECT_LT(sim().now(), 300 * kSecond) << "ended by the budget, long before the disown";
}

TEST_F(WdmWaitTest, Liveness_WaitAtApcLevelCannotRunTheCompletionApc) {
  // SEMANTICS-WDM A.4.3 (inference): the completion APC is a special kernel
  // APC to the issuing thread; blocked at APC_LEVEL, the thread never runs it.
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_THROW(WaitForever(&s.ev), BugCheck);
  EXPECT_EQ(LastRule(), "Liveness");
  EXPECT_TRUE(lower.irps()[0].completed) << "the lower driver completed; only the APC is stuck";
  EXPECT_TRUE(IosbUntouched(s.iosb));
}

// ---- A.4.2: creator-side timeout, cancel, wait again (KRN:cheat scenario 7) ----

TEST_F(WdmWaitTest, A4_2_TimedOutWaitCancelsThenWaitsAgainForCompletion) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kSecond, 8)}, DO_BUFFERED_IO);
  Sinks s;
  uint8_t buffer[8] = {};
  PIRP irp = BuildRead(lower.device(), s, buffer, sizeof(buffer));
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);

  EXPECT_EQ(WaitFor(&s.ev, 100 * kMillisecond), STATUS_TIMEOUT);
  EXPECT_EQ(sim().now(), 100 * kMillisecond);
  EXPECT_EQ(KeReadStateEvent(&s.ev), 0);
  EXPECT_TRUE(IosbUntouched(s.iosb));
  // The IRP is still pending below (the APC cannot have freed it), so the
  // creator may cancel it.
  EXPECT_TRUE(IoCancelIrp(irp));
  EXPECT_EQ(WaitForever(&s.ev), STATUS_SUCCESS) << "wait again: the event and IOSB are on the caller's stack";
  EXPECT_EQ(s.iosb.Status, STATUS_CANCELLED);
  EXPECT_LT(sim().now(), 10 * kSecond) << "the cancel, not the device, finished it";
  EXPECT_EQ(Count(RuleId::kIoBuildSynchronousFsdRequestWaitTimeout), 1u) << "the second wait is the lint";
  EXPECT_TRUE(sim().verdict().clean()) << AllReports();
}

// ---- A.4.3: IRQL rules ----

TEST_F(WdmWaitTest, CaseC29_SyncFsdBuilderAtDispatchIsReported) {
  TestDevice d1(1);
  Sinks s;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  PIRP irp = BuildFlush(d1.dev(), s);
  KeLowerIrql(old);
  EXPECT_NE(irp, nullptr) << "a break, not a bug check";
  EXPECT_EQ(Count(RuleId::kIrqlIoApcLte), 1u) << AllReports();
  EXPECT_EQ(reports().front().rule_info().name, "IrqlIoApcLte");
}

TEST_F(WdmWaitTest, CaseC29_AsyncFsdBuilderAtDispatchIsReported) {
  TestDevice d1(1);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &iosb);
  KeLowerIrql(old);
  EXPECT_NE(irp, nullptr);
  EXPECT_EQ(Count(RuleId::kIrqlIoApcLte), 1u) << AllReports();
}

TEST_F(WdmWaitTest, CaseC29_IoctlBuilderAtDispatchIsIrqlIoPassive1) {
  TestDevice d1(1);
  Sinks s;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
  EXPECT_THROW(IoBuildDeviceIoControlRequest(code, d1.dev(), nullptr, 0, nullptr, 0, FALSE, &s.ev, &s.iosb), BugCheck);
  EXPECT_EQ(LastRule(), "IrqlIoPassive1");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC4u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x2000Au);
}

TEST_F(WdmWaitTest, CaseC29_BuildersAtApcLevelAreAllowed) {
  TestDevice d1(1);
  Sinks a, b;
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  EXPECT_NE(BuildFlush(d1.dev(), a), nullptr);
  const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
  EXPECT_NE(IoBuildDeviceIoControlRequest(code, d1.dev(), nullptr, 0, nullptr, 0, FALSE, &b.ev, &b.iosb), nullptr);
  KeLowerIrql(old);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, CaseC29_IoCompleteRequestAboveDispatchIs0xC9_0E) {
  TestDevice d1(1, DO_BUFFERED_IO, [](TestDevice&, PIRP irp) {
    KIRQL old;
    KeRaiseIrql(HIGH_LEVEL, &old);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
  });
  Sinks s;
  PIRP irp = BuildFlush(d1.dev(), s);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(LastRule(), "IoCompleteRequestIrql");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0xEu);
}

TEST_F(WdmWaitTest, CaseC29_IoCompleteRequestAtDispatchIsAllowed) {
  TestDevice d1(1, DO_BUFFERED_IO, [](TestDevice&, PIRP irp) {
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
  });
  Sinks s;
  PIRP irp = BuildFlush(d1.dev(), s);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, CaseC29_KeWaitNullTimeoutAtDispatchIs0xC4_3B) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, TRUE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_THROW(WaitForever(&ev), BugCheck);
  EXPECT_EQ(LastRule(), "KeWaitIrql");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC4u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x3Bu);
}

TEST_F(WdmWaitTest, CaseC29_KeWaitNonZeroTimeoutAtDispatchIs0xC4_3B) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, TRUE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_THROW(WaitFor(&ev, 10 * kMillisecond), BugCheck);
  EXPECT_EQ(LastRule(), "KeWaitIrql");
  EXPECT_EQ(reports().back().rule_info().p1, 0x3Bu);
}

TEST_F(WdmWaitTest, CaseC29_KeWaitZeroTimeoutAtDispatchIsAllowed) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, TRUE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
  KeLowerIrql(old);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmWaitTest, A4_3_KeWaitAboveDispatchIs0xC4_120) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, TRUE);
  KIRQL old;
  KeRaiseIrql(HIGH_LEVEL, &old);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  EXPECT_THROW(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), BugCheck);
  ASSERT_FALSE(reports().empty());
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC4u);
  // SEMANTICS-WDM C.29 / A.3.4: "0x3B KeWaitXxx at >= DISPATCH_LEVEL; 0x120
  // wait above DISPATCH_LEVEL".
  EXPECT_EQ(reports().back().rule_info().p1, 0x120u) << AllReports();
}

TEST_F(WdmWaitTest, A4_3_KeSetEventIrql) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);  // Wait=FALSE: <= DISPATCH
  EXPECT_TRUE(reports().empty()) << AllReports();
  EXPECT_THROW(KeSetEvent(&ev, IO_NO_INCREMENT, TRUE), BugCheck);  // Wait=TRUE: <= APC
  EXPECT_EQ(LastRule(), "IrqlKeSetEvent");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC4u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x20016u);
}

TEST_F(WdmWaitTest, A4_3_KeSetEventAboveDispatchIsIrqlKeSetEvent) {
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  KIRQL old;
  KeRaiseIrql(HIGH_LEVEL, &old);
  EXPECT_THROW(KeSetEvent(&ev, IO_NO_INCREMENT, FALSE), BugCheck);
  EXPECT_EQ(LastRule(), "IrqlKeSetEvent");
}

TEST_F(WdmWaitTest, A4_3_IoCallDriverAboveDispatchIs0xC9_10) {
  TestDevice d1(1);
  Sinks s;
  PIRP irp = BuildFlush(d1.dev(), s);
  ASSERT_NE(irp, nullptr);
  KIRQL old;
  KeRaiseIrql(HIGH_LEVEL, &old);
  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(LastRule(), "IoCallDriverIrql");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x10u);
}

TEST_F(WdmWaitTest, A4_3_SyncFsdFlushSentAtDispatchIsForwardedAtBadIrqlFsdSync) {
  TestDevice d1(1);
  Sinks s;
  PIRP irp = BuildFlush(d1.dev(), s);
  ASSERT_NE(irp, nullptr);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  KeLowerIrql(old);
  EXPECT_EQ(Count(RuleId::kForwardedAtBadIrqlFsdSync), 1u) << AllReports();
}

TEST_F(WdmWaitTest, A4_3_SyncFsdReadSentAtDispatchIsAllowed) {
  TestDevice d1(1);
  Sinks s;
  uint8_t buffer[4] = {};
  PIRP irp = BuildRead(d1.dev(), s, buffer, sizeof(buffer));
  ASSERT_NE(irp, nullptr);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  KeLowerIrql(old);
  EXPECT_EQ(Count(RuleId::kForwardedAtBadIrqlFsdSync), 0u) << AllReports();
}

TEST_F(WdmWaitTest, A4_3_PendedCompletionRoutineRunsAtDispatch) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond)}, DO_BUFFERED_IO);
  Sinks s;
  PIRP irp = BuildFlush(lower.device(), s);
  ASSERT_NE(irp, nullptr);
  CompletionProbe probe;
  IoSetCompletionRoutine(irp, ProbeCompletion, &probe, TRUE, TRUE, TRUE);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_EQ(WaitFor(&s.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(probe.calls, 1);
  EXPECT_LE(probe.irql, DISPATCH_LEVEL);
  EXPECT_EQ(probe.irql, DISPATCH_LEVEL) << "the scripted device completes from DISPATCH_LEVEL";
  EXPECT_TRUE(probe.pending_returned);
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

// ---- Case 30: KMDF synchronous send with a timeout ----

// needs WDFIOTARGET (issue 3)
// SEMANTICS-WDM C.30 (the KMDF face of A.4.2), each part in its own
// simulation: a lower device that pends, a WDFIOTARGET over it.
struct C30World {
  explicit C30World(wdfsim::LowerAnswer answer) : sim(choices) {
    wdfsim::LowerDeviceOptions options;
    options.answers_from_choices = false;
    options.default_answer = answer;
    lower = &sim.AddLowerDevice(options);
    target = sim.CreateIoTarget(lower->device());
  }
  wdfsim::DefaultChoiceSource choices;
  wdfsim::Simulation sim;
  wdfsim::LowerDevice* lower;
  WDFIOTARGET target;
};

NTSTATUS SendReadWithTimeout(C30World& w, ULONG_PTR* bytes) {
  static char buffer[16];
  WDF_MEMORY_DESCRIPTOR descriptor;
  WDF_MEMORY_DESCRIPTOR_INIT_BUFFER(&descriptor, buffer, sizeof(buffer));
  WDF_REQUEST_SEND_OPTIONS options;
  WDF_REQUEST_SEND_OPTIONS_INIT(&options, 0);
  WDF_REQUEST_SEND_OPTIONS_SET_TIMEOUT(&options, WDF_REL_TIMEOUT_IN_MS(100));
  return WdfIoTargetSendReadSynchronously(w.target, nullptr, &descriptor, nullptr, &options, bytes);
}

TEST(WdmCaseC30, TimeoutCancelsWaitsForTheCancelledCompletionAndReturnsIoTimeout) {
  wdfsim::LowerAnswer answer;
  answer.kind = wdfsim::LowerAnswer::Kind::kPendForever;
  answer.on_cancel = wdfsim::LowerAnswer::OnCancel::kCompleteCancelled;
  C30World w(answer);
  ULONG_PTR bytes = 0xDEADBEEF;
  EXPECT_EQ(SendReadWithTimeout(w, &bytes), STATUS_IO_TIMEOUT);
  EXPECT_EQ(bytes, 0u);
  EXPECT_GE(w.sim.now(), 100 * kMillisecond);
  ASSERT_EQ(w.lower->irps().size(), 1u);
  EXPECT_TRUE(w.lower->irps()[0].cancelled);
  EXPECT_TRUE(w.lower->irps()[0].completed) << "the call returned only after the target completed";
}

TEST(WdmCaseC30, CompletionAfterTheTimeoutBeforeTheCancelLandsReturnsItsStatus) {
  wdfsim::LowerAnswer answer;
  answer.kind = wdfsim::LowerAnswer::Kind::kPend;
  answer.delay = 150 * kMillisecond;
  answer.information = 5;
  answer.on_cancel = wdfsim::LowerAnswer::OnCancel::kIgnore;  // the cancel does not land
  C30World w(answer);
  ULONG_PTR bytes = 0;
  EXPECT_EQ(SendReadWithTimeout(w, &bytes), STATUS_SUCCESS);
  EXPECT_EQ(bytes, 5u);
  EXPECT_EQ(w.sim.now(), 150 * kMillisecond) << "the timeout does not bound the call";
  EXPECT_TRUE(w.lower->irps()[0].completed);
}

VOID C30Completion(WDFREQUEST, WDFIOTARGET, PWDF_REQUEST_COMPLETION_PARAMS, WDFCONTEXT) {}

TEST(WdmCaseC30, CompletingTheReceivedRequestWhileItsMemoryIsSentIsBugCheck0x10D_3) {
  wdfsim::LowerAnswer answer;
  answer.kind = wdfsim::LowerAnswer::Kind::kPendForever;
  C30World w(answer);
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_WRITE;
  spec.length = 8;
  WDFREQUEST received = w.sim.PresentRequest(spec);
  WDFMEMORY memory;
  ASSERT_EQ(WdfRequestRetrieveInputMemory(received, &memory), STATUS_SUCCESS);
  WDFREQUEST forwarded;
  ASSERT_EQ(WdfRequestCreate(WDF_NO_OBJECT_ATTRIBUTES, w.target, &forwarded), STATUS_SUCCESS);
  ASSERT_EQ(WdfIoTargetFormatRequestForWrite(w.target, forwarded, memory, nullptr, nullptr), STATUS_SUCCESS);
  WdfRequestSetCompletionRoutine(forwarded, C30Completion, nullptr);
  ASSERT_TRUE(WdfRequestSend(forwarded, w.target, WDF_NO_SEND_OPTIONS));
  EXPECT_THROW(WdfRequestComplete(received, STATUS_SUCCESS), wdfsim::BugCheck);
  EXPECT_EQ(w.sim.verifier().reports().back().rule_info().name, "CompleteWithMemoryReferenced");
  EXPECT_EQ(w.sim.verifier().reports().back().p3, 1u) << "one outstanding IRP reference";
}

TEST(WdmCaseC30, SecondWdfRequestCompleteIsANoOpDoubleCompletion) {
  wdfsim::LowerAnswer answer;
  C30World w(answer);
  wdfsim::IoRequestSpec spec;
  spec.major_function = IRP_MJ_READ;
  spec.length = 4;
  WDFREQUEST received = w.sim.PresentRequest(spec);
  WdfObjectReference(received);
  WdfRequestComplete(received, STATUS_SUCCESS);
  WdfRequestComplete(received, STATUS_SUCCESS);
  EXPECT_EQ(w.sim.verifier().Count(RuleId::kDoubleCompletion), 1u);
  EXPECT_EQ(w.sim.io_outcomes()[0].completions, 1u);
  WdfObjectDereference(received);
}

}  // namespace
}  // namespace wdfsim_wdm_test
