// The WDM IRP layer: the three builders, IoAllocateIrp, IoCallDriver,
// IoCompleteRequest's stack walk, STATUS_MORE_PROCESSING_REQUIRED, pending
// propagation, the completion APC's write-back and who frees
// (SEMANTICS-WDM A.0-A.3; part C cases 1-17, 23, 24, 26-28).
#include <cstring>

#include "wdm_fixture.h"

namespace wdfsim_wdm_test {
namespace {

using wdfsim::BugCheck;
using wdfsim::EventKind;
using wdfsim::RuleId;
using wdfsim::Severity;

class WdmIrpTest : public WdmTest {};

VOID NoopCancel(PDEVICE_OBJECT, PIRP) {}

// ---- A.0 / A.1: what the builders and IoAllocateIrp leave in the IRP ----

TEST_F(WdmIrpTest, CaseC01_SyncFsdFlushBuildFillsSinksThreadAndNextLocation) {
  TestDevice d1(1);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();

  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);

  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(irp->Type, IO_TYPE_IRP);
  EXPECT_EQ(irp->UserEvent, &ev);
  EXPECT_EQ(irp->UserIosb, &iosb);
  EXPECT_EQ(irp->Tail.Overlay.Thread, PsGetCurrentThread());
  EXPECT_EQ(irp->Tail.Overlay.Thread, sim().driver_thread());
  EXPECT_EQ(irp->StackCount, 1);
  EXPECT_EQ(irp->CurrentLocation, 2);
  EXPECT_FALSE(irp->Cancel);
  EXPECT_EQ(irp->CancelRoutine, nullptr);
  EXPECT_FALSE(irp->PendingReturned);
  EXPECT_EQ(irp->IoStatus.Status, STATUS_SUCCESS);
  EXPECT_EQ(irp->IoStatus.Information, 0u);
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  EXPECT_EQ(next->MajorFunction, IRP_MJ_FLUSH_BUFFERS);
  EXPECT_EQ(next->DeviceObject, nullptr);
  EXPECT_EQ(next->CompletionRoutine, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, PsGetCurrentThread());
  ASSERT_NE(head, nullptr) << "the IRP is on the current thread's IRP list";
  EXPECT_EQ(ListLength(head), 1u);
  EXPECT_EQ(head->Flink, &irp->ThreadListEntry);
  EXPECT_TRUE(IosbUntouched(iosb));
  EXPECT_EQ(KeReadStateEvent(&ev), 0);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC02_SyncFsdWithUndocumentedMajorScsiIsNotRejected) {
  // Allocation failures are possible but the ChoiceSource never picks one:
  // only an allocation failure may yield NULL.
  wdfsim::SimulationOptions options;
  options.inject_allocation_failures = true;
  Start(options);
  TestDevice d1(1, DO_BUFFERED_IO);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  uint8_t buffer[512];
  memset(buffer, 0x33, sizeof(buffer));
  LARGE_INTEGER offset;
  offset.QuadPart = 0;

  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_SCSI, d1.dev(), buffer, sizeof(buffer), &offset, &ev, &iosb);

  ASSERT_NE(irp, nullptr) << "IRP_MJ_INTERNAL_DEVICE_CONTROL is accepted (MSSAMPLE)";
  EXPECT_EQ(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_INTERNAL_DEVICE_CONTROL);
  EXPECT_EQ(irp->UserEvent, &ev);
  EXPECT_EQ(irp->UserIosb, &iosb);
  EXPECT_TRUE(OnThreadList(irp, PsGetCurrentThread()));
  // READ-style buffer handling for the undocumented major (A.1.1, ROS).
  EXPECT_NE(irp->AssociatedIrp.SystemBuffer, nullptr);
  EXPECT_TRUE(irp->Flags & IRP_BUFFERED_IO);
  EXPECT_FALSE(sim().verifier().bugchecked());

  // The same build with an injected IRP allocation failure is NULL.
  Start(options, std::make_unique<wdfsim::ScriptedChoiceSource>(std::vector<uint32_t>{1}));
  TestDevice d2(1, DO_BUFFERED_IO);
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  EXPECT_EQ(IoBuildSynchronousFsdRequest(IRP_MJ_SCSI, d2.dev(), buffer, sizeof(buffer), &offset, &ev, &iosb), nullptr);
}

TEST_F(WdmIrpTest, CaseC03_InjectedAllocationFailureIsNullNothingQueuedNothingLeaked) {
  wdfsim::SimulationOptions options;
  options.inject_allocation_failures = true;
  uint8_t buffer[16] = {};
  LARGE_INTEGER offset;
  offset.QuadPart = 0;

  // (a) The IRP itself cannot be allocated.
  StartScripted({1}, options);
  {
    TestDevice d1(1, DO_BUFFERED_IO);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = SentinelIosb();
    EXPECT_EQ(IoBuildSynchronousFsdRequest(IRP_MJ_READ, d1.dev(), buffer, sizeof(buffer), &offset, &ev, &iosb),
              nullptr);
    EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 0u);
    // The next build succeeds (the script is exhausted) and is alone on the list.
    PIRP probe = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
    ASSERT_NE(probe, nullptr);
    PLIST_ENTRY head = ThreadListHeadOf(probe, PsGetCurrentThread());
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(ListLength(head), 1u) << "the failed build queued nothing on the thread";
    EXPECT_TRUE(IosbUntouched(iosb));
  }

  // (b) DO_BUFFERED_IO: the IRP is allocated, the system buffer is not.
  StartScripted({0, 1}, options);
  {
    TestDevice d1(1, DO_BUFFERED_IO);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = SentinelIosb();
    EXPECT_EQ(IoBuildSynchronousFsdRequest(IRP_MJ_READ, d1.dev(), buffer, sizeof(buffer), &offset, &ev, &iosb),
              nullptr);
    EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u) << "the half-built IRP is freed, not leaked";
    PIRP probe = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
    ASSERT_NE(probe, nullptr);
    PLIST_ENTRY head = ThreadListHeadOf(probe, PsGetCurrentThread());
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(ListLength(head), 1u) << "the failed build queued nothing on the thread";
  }

  // (c) The IOCTL builder's system buffer fails the same way.
  StartScripted({0, 1}, options);
  {
    TestDevice d1(1, DO_BUFFERED_IO);
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = SentinelIosb();
    const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
    EXPECT_EQ(IoBuildDeviceIoControlRequest(code, d1.dev(), buffer, 8, buffer, 8, FALSE, &ev, &iosb), nullptr);
    EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  }
  EXPECT_FALSE(sim().verifier().bugchecked());
}

// ---- A.1.2 / A.3.2: buffered copy-back, error and warning statuses ----

struct ReadFixture {
  uint8_t buffer[16];
  KEVENT ev;
  IO_STATUS_BLOCK iosb;
  LARGE_INTEGER offset;
  ReadFixture() {
    memset(buffer, 0x11, sizeof(buffer));
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    iosb = SentinelIosb();
    offset.QuadPart = 0;
  }
  PIRP Build(PDEVICE_OBJECT device, UCHAR major = IRP_MJ_READ) {
    return IoBuildSynchronousFsdRequest(major, device, buffer, sizeof(buffer), &offset, &ev, &iosb);
  }
  size_t CountByte(uint8_t value, size_t from, size_t to) const {
    size_t n = 0;
    for (size_t i = from; i < to; ++i) n += buffer[i] == value;
    return n;
  }
};

TEST_F(WdmIrpTest, CaseC04_BufferedReadCopiesBackInformationBytes) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_SUCCESS, 5)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  EXPECT_NE(irp->AssociatedIrp.SystemBuffer, nullptr);
  EXPECT_EQ(irp->Flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
            static_cast<ULONG>(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION));
  EXPECT_EQ(irp->UserBuffer, f.buffer);
  PLIST_ENTRY head = ThreadListHeadOf(irp, PsGetCurrentThread());
  ASSERT_NE(head, nullptr);

  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_SUCCESS);
  sim().RunReadyWork();  // the completion APC on the issuing thread

  EXPECT_EQ(f.CountByte(0xD0, 0, 5), 5u) << "exactly Information bytes are copied back";
  EXPECT_EQ(f.CountByte(0x11, 5, 16), 11u) << "nothing beyond Information";
  EXPECT_EQ(f.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(f.iosb.Information, 5u);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 1);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u) << "the I/O manager freed the IRP and its system buffer";
  EXPECT_TRUE(ListEmpty(head)) << "the thread list is empty";
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC05_InlineErrorNoCopyNoIosbNoEventIrpFreed) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_DEVICE_DATA_ERROR, 0)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, PsGetCurrentThread());
  ASSERT_NE(head, nullptr);

  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_DEVICE_DATA_ERROR);
  sim().RunReadyWork();

  EXPECT_EQ(f.CountByte(0x11, 0, 16), 16u) << "no copy-back";
  EXPECT_TRUE(IosbUntouched(f.iosb)) << "IOSB untouched for an error that never pended";
  EXPECT_EQ(KeReadStateEvent(&f.ev), 0) << "event NOT signalled";
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(ListEmpty(head));
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC06_PendedErrorWritesIosbAndSignals) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_DEVICE_DATA_ERROR, 10 * kMillisecond)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);

  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_EQ(WaitFor(&f.ev, kSecond), STATUS_SUCCESS);

  EXPECT_EQ(f.iosb.Status, STATUS_DEVICE_DATA_ERROR);
  EXPECT_EQ(f.iosb.Information, 0u);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 1);
  EXPECT_EQ(f.CountByte(0x11, 0, 16), 16u) << "still no copy-back for an error";
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC07_WarningStatusInlineWritesIosbSignalsAndCopiesBack) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_BUFFER_OVERFLOW, 8)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);

  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_BUFFER_OVERFLOW);
  sim().RunReadyWork();

  EXPECT_EQ(f.iosb.Status, STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(f.iosb.Information, 8u);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 1) << "a warning is not NT_ERROR";
  EXPECT_EQ(f.CountByte(0xD0, 0, 8), 8u);
  EXPECT_EQ(f.CountByte(0x11, 8, 16), 8u);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC08_BufferedWriteDataInSystemBufferAtDispatchNoWriteBack) {
  bool data_present = false;
  ULONG flags_seen = 0;
  TestDevice d1(1, DO_BUFFERED_IO, [&](TestDevice&, PIRP irp) {
    PIO_STACK_LOCATION loc = IoGetCurrentIrpStackLocation(irp);
    uint8_t expected[16];
    memset(expected, 0x5A, sizeof(expected));
    data_present = irp->AssociatedIrp.SystemBuffer != nullptr && loc->Parameters.Write.Length == 16 &&
                   memcmp(irp->AssociatedIrp.SystemBuffer, expected, 16) == 0;
    flags_seen = irp->Flags;
    memset(irp->AssociatedIrp.SystemBuffer, 0xEE, 16);  // the device scribbles on its copy
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 16;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  });
  uint8_t buffer[16];
  memset(buffer, 0x5A, sizeof(buffer));
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  LARGE_INTEGER offset;
  offset.QuadPart = 512;

  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_WRITE, d1.dev(), buffer, sizeof(buffer), &offset, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Parameters.Write.ByteOffset.QuadPart, 512);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  sim().RunReadyWork();

  EXPECT_TRUE(data_present) << "the caller's data is in the system buffer when the dispatch runs";
  EXPECT_TRUE(flags_seen & IRP_BUFFERED_IO);
  EXPECT_FALSE(flags_seen & IRP_INPUT_OPERATION) << "a write is not an input operation";
  for (uint8_t b : buffer) ASSERT_EQ(b, 0x5A) << "the caller's buffer is not written back";
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 16u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC09_DirectIoReadMdlDescribesCallerBufferUnlockedAndFreedByIoManager) {
  bool mdl_ok = false;
  bool locked_at_dispatch = false;
  TestDevice d1(1, DO_DIRECT_IO, [&](TestDevice&, PIRP irp) {
    PMDL mdl = irp->MdlAddress;
    mdl_ok = mdl != nullptr && MmGetMdlByteCount(mdl) == 16;
    locked_at_dispatch = mdl != nullptr && (mdl->MdlFlags & MDL_PAGES_LOCKED);
    if (mdl != nullptr) memset(MmGetMdlVirtualAddress(mdl), 0xD1, 16);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 16;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  });
  ReadFixture f;
  PIRP irp = f.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  ASSERT_NE(irp->MdlAddress, nullptr);
  EXPECT_EQ(MmGetMdlVirtualAddress(irp->MdlAddress), static_cast<PVOID>(f.buffer));
  EXPECT_EQ(irp->AssociatedIrp.SystemBuffer, nullptr);

  ApcHold hold;
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  EXPECT_TRUE(mdl_ok);
  EXPECT_TRUE(locked_at_dispatch) << "MmProbeAndLockPages at build time";
  // The test looks at the IRP between IofCompleteRequest and the APC (it is
  // still allocated then): IofCompleteRequest unlocked every MDL.
  ASSERT_NE(irp->MdlAddress, nullptr);
  EXPECT_FALSE(irp->MdlAddress->MdlFlags & MDL_PAGES_LOCKED) << "unlocked by IofCompleteRequest";

  hold.Release();
  EXPECT_EQ(f.CountByte(0xD1, 0, 16), 16u);
  EXPECT_EQ(f.iosb.Information, 16u);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u) << "the MDL is freed with the IRP by the I/O manager";
  EXPECT_EQ(Count(RuleId::kMdlFreedLocked), 0u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// ---- A.2: STATUS_PENDING and the waiting rule ----

TEST_F(WdmIrpTest, CaseC10_PendingBeforeCompletionEventClearIosbSentinelSurvives) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 50 * kMillisecond, 4)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);

  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 0);
  EXPECT_TRUE(IosbUntouched(f.iosb));
  sim().AdvanceTime(10 * kMillisecond);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 0) << "still pending at 10 ms";
  EXPECT_TRUE(IosbUntouched(f.iosb));

  EXPECT_EQ(WaitFor(&f.ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(f.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(f.iosb.Information, 4u);
  EXPECT_EQ(sim().now(), 50 * kMillisecond);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// The caller's frame, kept on the heap so the test itself stays defined
// behaviour; the caller below returns from it without waiting.
struct CallerFrame {
  KEVENT ev;
  IO_STATUS_BLOCK iosb;
  uint8_t buffer[8];
};

NTSTATUS SendWithoutWaiting(PDEVICE_OBJECT device, CallerFrame& frame) {
  KeInitializeEvent(&frame.ev, NotificationEvent, FALSE);
  frame.iosb = SentinelIosb();
  LARGE_INTEGER offset;
  offset.QuadPart = 0;
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, device, frame.buffer, sizeof(frame.buffer), &offset, &frame.ev,
                                          &frame.iosb);
  if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  return IoCallDriver(device, irp);  // STATUS_PENDING, and no KeWaitForSingleObject
}

TEST_F(WdmIrpTest, CaseC11_PendingWithoutWaitIsIoBuildSynchronousFsdRequestWait) {
  wdfsim::LowerDevice& lower = Lower({PendForever()}, DO_BUFFERED_IO);
  auto frame = std::make_unique<CallerFrame>();
  EXPECT_EQ(SendWithoutWaiting(lower.device(), *frame), STATUS_PENDING);

  ASSERT_NO_THROW(sim().Unload());
  // SEMANTICS-WDM C.11 / B.1: the missing wait is reported at unload.
  EXPECT_EQ(Count(RuleId::kIoBuildSynchronousFsdRequestWait), 1u) << AllReports();
}

TEST_F(WdmIrpTest, CaseC11_CompletionOntoUnwoundCallerFrameIsReported) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond, 8)}, DO_BUFFERED_IO);
  auto frame = std::make_unique<CallerFrame>();
  EXPECT_EQ(SendWithoutWaiting(lower.device(), *frame), STATUS_PENDING);
  // The caller has returned: its frame is gone. The completion arrives.
  // A caller may do other work before it waits, so the missing wait is known
  // only when the driver unloads. (In the fuzz preset, with
  // detect_stack_use_after_return, a write into a dead stack frame is also
  // reported as 0xC9/0x0C or 0x0D when the completion arrives.)
  try {
    sim().AdvanceTime(20 * kMillisecond);
    sim().Unload();
  } catch (const BugCheck&) {
  }
  bool unwound_report = false;
  for (const auto& r : reports()) {
    const wdfsim::Rule& rule = r.rule_info();
    if ((rule.bugcheck == 0xC9 && (rule.p1 == 0x0C || rule.p1 == 0x0D)) ||
        r.rule == RuleId::kIoBuildSynchronousFsdRequestWait) {
      unwound_report = true;
    }
  }
  EXPECT_TRUE(unwound_report) << AllReports();
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WDFSIM_TEST_HAS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WDFSIM_TEST_HAS_ASAN 1
#endif

#ifdef WDFSIM_TEST_HAS_ASAN
// Only AddressSanitizer's stack-use-after-return mode (on for this binary,
// fuzz/sanitizer_options.cc) can tell a returned frame; without it the APC
// below would really write into the test's live stack.
__attribute__((noinline)) NTSTATUS SendFromStackWithoutWaiting(PDEVICE_OBJECT device) {
  KEVENT ev;
  IO_STATUS_BLOCK iosb;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, device, nullptr, 0, nullptr, &ev, &iosb);
  if (irp == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  return IoCallDriver(device, irp);
}

TEST_F(WdmIrpTest, CaseC11_CompletionApcOntoUnwoundStackIsBugCheck0xC9_0x0C) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond, 0)}, DO_BUFFERED_IO);
  ASSERT_EQ(SendFromStackWithoutWaiting(lower.device()), STATUS_PENDING);

  EXPECT_THROW(sim().AdvanceTime(20 * kMillisecond), BugCheck);
  EXPECT_EQ(LastRule(), "IosbOnUnwoundStack") << AllReports();
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x0Cu);
}
#endif

TEST_F(WdmIrpTest, CaseC12_WaitWithNullTimeoutIsWaitTimeoutLintOnly) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond, 3)}, DO_BUFFERED_IO);
  ReadFixture f;
  PIRP irp = f.Build(lower.device());
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(lower.device(), irp), STATUS_PENDING);

  EXPECT_EQ(WaitForever(&f.ev), STATUS_SUCCESS);

  EXPECT_EQ(Count(RuleId::kIoBuildSynchronousFsdRequestWaitTimeout), 1u);
  ASSERT_FALSE(reports().empty());
  EXPECT_EQ(reports().back().rule_info().name, "IoBuildSynchronousFsdRequestWaitTimeout");
  EXPECT_EQ(reports().back().rule_info().severity, Severity::kLint);
  EXPECT_EQ(f.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(f.iosb.Information, 3u);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 1);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(sim().verdict().clean()) << "a lint is not a failure: " << AllReports();
}

// ---- A.3.3: sync-FSD IRPs are never passed to IoFreeIrp ----

TEST_F(WdmIrpTest, CaseC13_IoFreeIrpOnSyncFsdAfterCompletionIsNoFreeAndDoubleFree) {
  TestDevice d1(1);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  sim().RunReadyWork();
  ASSERT_EQ(CountEvents(EventKind::kIrpFreed), 1u) << "the I/O manager freed it";

  EXPECT_THROW(IoFreeIrp(irp), BugCheck);
  EXPECT_EQ(Count(RuleId::kIoBuildSynchronousFsdRequestNoFree), 1u) << AllReports();
  EXPECT_EQ(reports().front().rule_info().name, "IoBuildSynchronousFsdRequestNoFree");
  // SEMANTICS-WDM C.13: "NoFree plus a double-free report".
  EXPECT_EQ(Count(RuleId::kIrpDoubleFree), 1u) << AllReports();
}

TEST_F(WdmIrpTest, CaseC13_IoFreeIrpOnSyncFsdBeforeCompletionIsFreeWhileOnThread) {
  TestDevice d1(1);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  ASSERT_TRUE(OnThreadList(irp, PsGetCurrentThread()));

  EXPECT_THROW(IoFreeIrp(irp), BugCheck);
  ASSERT_FALSE(reports().empty());
  // The SDV rule is reported first; the machine stops on the I/O manager's
  // own check (SEMANTICS-WDM C.13, A.3.3(2)).
  EXPECT_EQ(reports().front().rule_info().name, "IoBuildSynchronousFsdRequestNoFree");
  const wdfsim::Rule& last = reports().back().rule_info();
  EXPECT_EQ(last.bugcheck, 0xC9u);
  EXPECT_EQ(last.p1, 0x2u) << "0xC9/0x02: free an IRP still associated with a thread";
  EXPECT_EQ(Count(RuleId::kIrpFreedOnThreadList), 1u) << AllReports();
}

// ---- A.3.4: double completion ----

TEST_F(WdmIrpTest, CaseC14_SecondIoCompleteRequestIsBugCheck0x44WithIrp) {
  TestDevice d1(1);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  ApcHold hold;
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  // Completed; the APC has not run, so the IRP is still allocated.
  EXPECT_EQ(irp->CurrentLocation, irp->StackCount + 2) << "fully completed";

  EXPECT_THROW(IoCompleteRequest(irp, IO_NO_INCREMENT), BugCheck);
  EXPECT_EQ(LastRule(), "DoubleIrpCompletion");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0x44u);
  // P1 = the IRP (Report keeps varying parameters in p2/p3).
  EXPECT_EQ(reports().back().p2, reinterpret_cast<uint64_t>(irp));
  EXPECT_TRUE(sim().verifier().bugchecked());
}

// ---- A.3.1: STATUS_MORE_PROCESSING_REQUIRED ----

TEST_F(WdmIrpTest, CaseC15_MoreProcessingRequiredStopsWalkOwnerCompletesAgain) {
  TestDevice d1(1, DO_BUFFERED_IO, CompleteInline(STATUS_SUCCESS, 4));
  ReadFixture f;
  PIRP irp = f.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  PLIST_ENTRY head = ThreadListHeadOf(irp, PsGetCurrentThread());
  ASSERT_NE(head, nullptr);
  CompletionProbe probe;
  probe.result = STATUS_MORE_PROCESSING_REQUIRED;
  IoSetCompletionRoutine(irp, ProbeCompletion, &probe, TRUE, TRUE, TRUE);

  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.device, nullptr) << "the creator's routine gets DeviceObject NULL";
  EXPECT_EQ(probe.current_location, irp->StackCount + 1);
  sim().RunReadyWork();
  EXPECT_TRUE(IosbUntouched(f.iosb)) << "IOSB not written";
  EXPECT_EQ(KeReadStateEvent(&f.ev), 0) << "event not signalled";
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 0u) << "IRP not freed";
  EXPECT_EQ(ThreadListHeadOf(irp, PsGetCurrentThread()), head) << "still on the thread list";
  EXPECT_EQ(irp->IoStatus.Information, 4u) << "the owner can inspect the result";

  // The owner takes it back and completes it again.
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  EXPECT_EQ(probe.calls, 1) << "the routine that returned MPR is not called again";
  sim().RunReadyWork();
  EXPECT_EQ(f.iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(f.iosb.Information, 4u);
  EXPECT_EQ(KeReadStateEvent(&f.ev), 1);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(ListEmpty(head));
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC15_ThirdIoCompleteRequestAfterMprIs0x44) {
  TestDevice d1(1, DO_BUFFERED_IO, CompleteInline(STATUS_SUCCESS, 4));
  ReadFixture f;
  PIRP irp = f.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  CompletionProbe probe;
  probe.result = STATUS_MORE_PROCESSING_REQUIRED;
  IoSetCompletionRoutine(irp, ProbeCompletion, &probe, TRUE, TRUE, TRUE);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  ApcHold hold;
  IoCompleteRequest(irp, IO_NO_INCREMENT);  // second: finishes the walk (APC not yet run)
  EXPECT_TRUE(reports().empty()) << AllReports();

  EXPECT_THROW(IoCompleteRequest(irp, IO_NO_INCREMENT), BugCheck);
  EXPECT_EQ(LastRule(), "DoubleIrpCompletion");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0x44u);
}

// ---- A.3.1 asserts / BC:c9 ----

TEST_F(WdmIrpTest, CaseC16_CompleteWithStatusPendingOrMinusOneIsStatusCheck) {
  for (NTSTATUS bad : {STATUS_PENDING, static_cast<NTSTATUS>(0xFFFFFFFF)}) {
    Start();
    TestDevice d1(1, DO_BUFFERED_IO, [bad](TestDevice&, PIRP irp) {
      irp->IoStatus.Status = bad;
      irp->IoStatus.Information = 0;
      IoCompleteRequest(irp, IO_NO_INCREMENT);
      return STATUS_SUCCESS;
    });
    KEVENT ev;
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    IO_STATUS_BLOCK iosb = SentinelIosb();
    PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
    ASSERT_NE(irp, nullptr);
    EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck) << std::hex << bad;
    EXPECT_EQ(LastRule(), "CompleteRequestStatusCheck");
    EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
    EXPECT_EQ(reports().back().rule_info().p1, 0x6u);
  }
}

TEST_F(WdmIrpTest, CaseC17_CompleteWithCancelRoutineSetIs0xC9_07) {
  TestDevice d1(1, DO_BUFFERED_IO, [](TestDevice&, PIRP irp) {
    IoSetCancelRoutine(irp, NoopCancel);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  });
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(LastRule(), "CompleteWithCancelRoutine");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x7u);
}

// ---- A.3.1: pending propagation through a two-level stack ----

class TwoLevelStack {
 public:
  // upper_routine: whether the upper driver registers a completion routine.
  TwoLevelStack(wdfsim::LowerDevice& lower, bool upper_routine)
      : lower_(lower), upper_(2, DO_BUFFERED_IO, [this, upper_routine](TestDevice&, PIRP irp) {
          IoCopyCurrentIrpStackLocationToNext(irp);
          if (upper_routine) IoSetCompletionRoutine(irp, ProbeCompletion, &upper_probe, TRUE, TRUE, TRUE);
          return IoCallDriver(lower_.device(), irp);
        }) {}
  PDEVICE_OBJECT upper() { return upper_.dev(); }
  CompletionProbe upper_probe;

 private:
  wdfsim::LowerDevice& lower_;
  TestDevice upper_;
};

TEST_F(WdmIrpTest, CaseC23_UpperRoutineMarksPendingCreatorSeesPendingReturned) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond)}, DO_BUFFERED_IO);
  TwoLevelStack stack(lower, /*upper_routine=*/true);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, stack.upper(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(irp->StackCount, 2);
  CompletionProbe creator;
  IoSetCompletionRoutine(irp, ProbeCompletion, &creator, TRUE, TRUE, TRUE);

  ASSERT_EQ(IoCallDriver(stack.upper(), irp), STATUS_PENDING);
  EXPECT_FALSE(irp->PendingReturned) << "only computed during the walk (WINET:test_completion)";
  EXPECT_EQ(WaitFor(&ev, kSecond), STATUS_SUCCESS);

  EXPECT_EQ(stack.upper_probe.calls, 1);
  EXPECT_EQ(stack.upper_probe.device, stack.upper());
  EXPECT_TRUE(stack.upper_probe.pending_returned);
  EXPECT_EQ(stack.upper_probe.current_location, 2);
  EXPECT_EQ(creator.calls, 1);
  EXPECT_EQ(creator.device, nullptr);
  EXPECT_EQ(creator.current_location, 3);
  EXPECT_TRUE(creator.pending_returned) << "the upper routine called IoMarkIrpPending";
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC23_UpperRoutineDoesNotMarkPendingIs0xC9_228) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond)}, DO_BUFFERED_IO);
  TwoLevelStack stack(lower, /*upper_routine=*/true);
  stack.upper_probe.mark_pending_if_returned = false;
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, stack.upper(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  CompletionProbe creator;
  IoSetCompletionRoutine(irp, ProbeCompletion, &creator, TRUE, TRUE, TRUE);
  ASSERT_EQ(IoCallDriver(stack.upper(), irp), STATUS_PENDING);

  EXPECT_THROW(WaitFor(&ev, kSecond), BugCheck);
  EXPECT_EQ(stack.upper_probe.calls, 1);
  EXPECT_TRUE(stack.upper_probe.pending_returned);
  EXPECT_EQ(LastRule(), "PendingReturnedNotPropagated");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x228u);
  // "creator sees FALSE" is Windows without the verifier: with 0x228 of
  // bug-check severity the machine stops before the creator's routine.
  EXPECT_EQ(creator.calls, 0);
}

TEST_F(WdmIrpTest, CaseC23_LocationWithoutRoutineGetsPendingPropagated) {
  wdfsim::LowerDevice& lower = Lower({Pend(STATUS_SUCCESS, 10 * kMillisecond)}, DO_BUFFERED_IO);
  TwoLevelStack stack(lower, /*upper_routine=*/false);
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, stack.upper(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  CompletionProbe creator;
  IoSetCompletionRoutine(irp, ProbeCompletion, &creator, TRUE, TRUE, TRUE);
  ASSERT_EQ(IoCallDriver(stack.upper(), irp), STATUS_PENDING);
  EXPECT_EQ(WaitFor(&ev, kSecond), STATUS_SUCCESS);

  EXPECT_EQ(creator.calls, 1);
  EXPECT_TRUE(creator.pending_returned) << "the I/O manager marked the upper location itself";
  EXPECT_TRUE(reports().empty()) << AllReports();
}

// ---- A.2: IoMarkIrpPending contract ----

TEST_F(WdmIrpTest, CaseC24_MarkedPendingButReturnedSuccessIsMarkIrpPending) {
  TestDevice d1(1, DO_BUFFERED_IO, [](TestDevice&, PIRP irp) {
    IoMarkIrpPending(irp);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
  });
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(LastRule(), "MarkIrpPending");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x23Eu);
}

TEST_F(WdmIrpTest, CaseC24_ReturnedPendingWithoutMarkingIsMarkIrpPending2) {
  TestDevice d1(1, DO_BUFFERED_IO, [](TestDevice&, PIRP) { return STATUS_PENDING; });
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(LastRule(), "MarkIrpPending2");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0xC9u);
  EXPECT_EQ(reports().back().rule_info().p1, 0x23Du);
}

TEST_F(WdmIrpTest, A2_MarkedPendingAndReturnedPendingIsClean) {
  TestDevice d1(1, DO_BUFFERED_IO, PendWithoutCancelRoutine());
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, d1.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  ASSERT_EQ(IoCallDriver(d1.dev(), irp), STATUS_PENDING);
  // WINET:test_cancel_irp: after a pending dispatch on a 1-deep stack.
  EXPECT_EQ(irp->CurrentLocation, 1);
  EXPECT_EQ(IoGetCurrentIrpStackLocation(irp)->DeviceObject, d1.dev()) << "IoCallDriver assigns DeviceObject";
  EXPECT_EQ(d1.location_at_dispatch, 1);
  EXPECT_EQ(d1.location_device_at_dispatch, d1.dev());
  CompleteLater(irp, STATUS_SUCCESS, 0);
  EXPECT_EQ(WaitFor(&ev, kSecond), STATUS_SUCCESS);
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, A2_NoDispatchRoutineIsInvalidDeviceRequest) {
  TestDevice d1(1);
  d1.driver.MajorFunction[IRP_MJ_READ] = nullptr;
  ReadFixture f;
  PIRP irp = f.Build(d1.dev());
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_INVALID_DEVICE_REQUEST);
  sim().RunReadyWork();
  EXPECT_TRUE(IosbUntouched(f.iosb)) << "an error that never pended";
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_FALSE(sim().verifier().bugchecked()) << AllReports();
}

// ---- A.3.2: IoAllocateIrp / async-FSD IRPs ----

TEST_F(WdmIrpTest, A0_IoAllocateIrpFields) {
  PIRP irp = IoAllocateIrp(3, FALSE);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(irp->Type, IO_TYPE_IRP);
  EXPECT_EQ(irp->StackCount, 3);
  EXPECT_EQ(irp->CurrentLocation, 4);
  EXPECT_EQ(irp->Tail.Overlay.CurrentStackLocation, reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + 3);
  EXPECT_EQ(irp->Tail.Overlay.Thread, nullptr);
  EXPECT_EQ(irp->ThreadListEntry.Flink, &irp->ThreadListEntry);
  EXPECT_EQ(irp->ThreadListEntry.Blink, &irp->ThreadListEntry);
  EXPECT_EQ(irp->UserIosb, nullptr);
  EXPECT_EQ(irp->UserEvent, nullptr);
  EXPECT_FALSE(irp->Cancel);
  IoFreeIrp(irp);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC26_AllocatedIrpRoutineReturningSuccessIsIoAllocateComplete) {
  TestDevice d1(1);
  PIRP irp = IoAllocateIrp(d1.dev()->StackSize, FALSE);
  ASSERT_NE(irp, nullptr);
  IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
  CompletionProbe probe;
  probe.result = STATUS_SUCCESS;  // should have freed the IRP and returned MPR
  IoSetCompletionRoutine(irp, ProbeCompletion, &probe, TRUE, TRUE, TRUE);

  EXPECT_THROW(IoCallDriver(d1.dev(), irp), BugCheck);
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(LastRule(), "IoAllocateComplete") << "an IRP with no thread reached post-processing";
}

TEST_F(WdmIrpTest, A3_2_AllocatedIrpRoutineFreesAndReturnsMprIsClean) {
  TestDevice d1(1);
  PIRP irp = IoAllocateIrp(d1.dev()->StackSize, FALSE);
  ASSERT_NE(irp, nullptr);
  IoGetNextIrpStackLocation(irp)->MajorFunction = IRP_MJ_FLUSH_BUFFERS;
  CompletionProbe probe;
  probe.result = STATUS_MORE_PROCESSING_REQUIRED;
  probe.free_irp = true;
  IoSetCompletionRoutine(irp, ProbeCompletion, &probe, TRUE, TRUE, TRUE);

  EXPECT_EQ(IoCallDriver(d1.dev(), irp), STATUS_SUCCESS);
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.device, nullptr);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  sim().RunReadyWork();
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, CaseC27_AsyncFsdWithoutRoutineIoManagerWritesIosbAndFrees) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_SUCCESS, 123)}, /*flags=*/0);
  uint8_t buffer[200] = {};
  IO_STATUS_BLOCK iosb = SentinelIosb();
  LARGE_INTEGER offset;
  offset.QuadPart = 0;
  PIRP irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, lower.device(), buffer, sizeof(buffer), &offset, &iosb);
  ASSERT_NE(irp, nullptr);
  // A.1.5: async FSD: IOSB yes, event no, thread set but not queued.
  EXPECT_EQ(irp->UserIosb, &iosb);
  EXPECT_EQ(irp->UserEvent, nullptr);
  EXPECT_EQ(irp->Tail.Overlay.Thread, PsGetCurrentThread());
  EXPECT_EQ(irp->ThreadListEntry.Flink, &irp->ThreadListEntry) << "not on the thread's IRP list";
  EXPECT_EQ(irp->UserBuffer, buffer) << "neither-I/O target: UserBuffer = Buffer";

  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_SUCCESS);
  sim().RunReadyWork();
  EXPECT_EQ(iosb.Status, STATUS_SUCCESS);
  EXPECT_EQ(iosb.Information, 123u);
  EXPECT_EQ(CountEvents(EventKind::kIrpFreed), 1u);
  EXPECT_TRUE(reports().empty()) << AllReports();

  EXPECT_THROW(IoFreeIrp(irp), BugCheck);
  EXPECT_EQ(LastRule(), "IrpDoubleFree");
}

TEST_F(WdmIrpTest, CaseC28_IoCallDriverWithNoLocationLeftIs0x35) {
  TestDevice lower(1);
  // A driver that forwards its IRP without a stack location of its own.
  TestDevice upper(1, DO_BUFFERED_IO, [&lower](TestDevice&, PIRP irp) { return IoCallDriver(lower.dev(), irp); });
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, upper.dev(), nullptr, 0, nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_THROW(IoCallDriver(upper.dev(), irp), BugCheck);
  EXPECT_EQ(upper.location_at_dispatch, 1) << "the upper dispatch got CurrentLocation == 1";
  EXPECT_TRUE(lower.seen.empty());
  EXPECT_EQ(LastRule(), "NoMoreIrpStackLocations");
  EXPECT_EQ(reports().back().rule_info().bugcheck, 0x35u);
}

// ---- A.1.3: IoBuildDeviceIoControlRequest ----

TEST_F(WdmIrpTest, A1_3_IoctlBufferedSystemBufferAndCopyBack) {
  wdfsim::LowerDevice& lower = Lower({Inline(STATUS_SUCCESS, 6)}, DO_BUFFERED_IO);
  uint8_t input[4] = {1, 2, 3, 4};
  uint8_t output[10];
  memset(output, 0x22, sizeof(output));
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS);
  PIRP irp = IoBuildDeviceIoControlRequest(code, lower.device(), input, sizeof(input), output, sizeof(output), FALSE,
                                           &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  EXPECT_EQ(next->MajorFunction, IRP_MJ_DEVICE_CONTROL);
  EXPECT_EQ(next->Parameters.DeviceIoControl.IoControlCode, code);
  EXPECT_EQ(next->Parameters.DeviceIoControl.InputBufferLength, sizeof(input));
  EXPECT_EQ(next->Parameters.DeviceIoControl.OutputBufferLength, sizeof(output));
  ASSERT_NE(irp->AssociatedIrp.SystemBuffer, nullptr);
  EXPECT_EQ(memcmp(irp->AssociatedIrp.SystemBuffer, input, sizeof(input)), 0) << "input copied in";
  EXPECT_EQ(irp->Flags & (IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION),
            static_cast<ULONG>(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER | IRP_INPUT_OPERATION));
  EXPECT_EQ(irp->UserBuffer, output);
  EXPECT_EQ(irp->RequestorMode, KernelMode);
  EXPECT_EQ(irp->UserEvent, &ev);
  EXPECT_EQ(irp->UserIosb, &iosb);
  EXPECT_TRUE(OnThreadList(irp, PsGetCurrentThread())) << "IOCTL IRPs are threaded";

  EXPECT_EQ(IoCallDriver(lower.device(), irp), STATUS_SUCCESS);
  sim().RunReadyWork();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(output[i], 0xD0) << i;
  for (int i = 6; i < 10; ++i) EXPECT_EQ(output[i], 0x22) << i;
  EXPECT_EQ(iosb.Information, 6u);
  EXPECT_EQ(KeReadStateEvent(&ev), 1);
  EXPECT_TRUE(reports().empty()) << AllReports();
}

TEST_F(WdmIrpTest, A1_3_IoctlInternalFlagAndMethodNeither) {
  TestDevice d1(1);
  uint8_t input[4] = {};
  uint8_t output[4] = {};
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  const ULONG code = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_NEITHER, FILE_ANY_ACCESS);
  PIRP irp = IoBuildDeviceIoControlRequest(code, d1.dev(), input, 4, output, 4, TRUE, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  EXPECT_EQ(next->MajorFunction, IRP_MJ_INTERNAL_DEVICE_CONTROL);
  EXPECT_EQ(next->Parameters.DeviceIoControl.Type3InputBuffer, input);
  EXPECT_EQ(irp->UserBuffer, output);
  EXPECT_EQ(irp->AssociatedIrp.SystemBuffer, nullptr);
}

TEST_F(WdmIrpTest, A1_4_NullStartingOffsetIsOffsetZeroNotACrash) {
  TestDevice d1(1);
  uint8_t buffer[8] = {};
  KEVENT ev;
  KeInitializeEvent(&ev, NotificationEvent, FALSE);
  IO_STATUS_BLOCK iosb = SentinelIosb();
  PIRP irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, d1.dev(), buffer, sizeof(buffer), nullptr, &ev, &iosb);
  ASSERT_NE(irp, nullptr);
  EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Parameters.Read.ByteOffset.QuadPart, 0);
  EXPECT_EQ(IoGetNextIrpStackLocation(irp)->Parameters.Read.Length, sizeof(buffer));
  EXPECT_FALSE(sim().verifier().bugchecked());
}

}  // namespace
}  // namespace wdfsim_wdm_test
